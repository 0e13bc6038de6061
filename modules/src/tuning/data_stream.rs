//! Training records from a request's data stream: inline, or read from a file inside the
//! configured data directory (`.jsonl`, `.json`, `.csv`). Every record from a file is checked
//! against the record's JSON Schema before any training starts; errors name the record.

use std::path::{Component, Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use taskgate_schemas::json_schema::request;
use taskgate_schemas::{
    ClassificationTrainRecord, DataStream, DataStreamSource, FieldError, GenerationTrainRecord,
    InlineRecords, RecordsFile,
};
use utoipa::ToSchema;

use super::csv;
use crate::TaskError;

/// Reports stop after this many records; a wrong file should not produce a megabyte of errors.
const MAX_REPORTED_RECORDS: usize = 20;

/// A record type a trainer takes.
pub trait TrainRecord: DeserializeOwned + ToSchema + Send + 'static {
    /// Fields holding lists: a CSV cell for one is a JSON array, or a single item.
    const LIST_FIELDS: &'static [&'static str];
}

impl TrainRecord for ClassificationTrainRecord {
    const LIST_FIELDS: &'static [&'static str] = &["labels"];
}

impl TrainRecord for GenerationTrainRecord {
    const LIST_FIELDS: &'static [&'static str] = &[];
}

/// Where files may come from and how much may be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DataLimits {
    /// Files are read only from inside this directory; none means inline data only.
    pub data_dir: Option<PathBuf>,
    pub max_records: usize,
    pub max_file_bytes: u64,
}

/// The records of `source`, the request field at JSON pointer `field`.
/// Reads a job's training stream (`/parameters/train_stream`) and its validation stream
/// (`/parameters/val_stream`), off the async threads: files may be large.
pub async fn read_train_and_validation<R: TrainRecord + Clone>(
    train: &DataStreamSource<R>,
    validation: Option<&DataStreamSource<R>>,
    limits: &DataLimits,
) -> Result<(Vec<R>, Option<Vec<R>>), TaskError> {
    let (train, validation, limits) = (train.clone(), validation.cloned(), limits.clone());
    tokio::task::spawn_blocking(move || {
        let train = read_records(&train, "/parameters/train_stream", &limits)?;
        let validation = validation
            .map(|s| read_records(&s, "/parameters/val_stream", &limits))
            .transpose()?;
        Ok((train, validation))
    })
    .await
    .map_err(|e| TaskError::Runtime(taskgate_runtime::RuntimeError::Unavailable(e.to_string())))?
}

pub fn read_records<R: TrainRecord + Clone>(
    source: &DataStreamSource<R>,
    field: &str,
    limits: &DataLimits,
) -> Result<Vec<R>, TaskError> {
    let records = match &source.data_stream {
        DataStream::Inline(InlineRecords { data }) => data.clone(),
        DataStream::File(RecordsFile { file }) => {
            let field = format!("{field}/data_stream/file/filename");
            let invalid = |reason: String| TaskError::invalid_field(&field, reason);
            let path = confined_path(&file.filename, limits).map_err(invalid)?;
            read_file(&path, &file.filename, limits).map_err(|errors| match errors {
                FileErrors::File(reason) => invalid(reason),
                FileErrors::Records(reasons) => TaskError::invalid_fields(
                    reasons
                        .into_iter()
                        .map(|reason| FieldError::new(&field, reason))
                        .collect(),
                ),
            })?
        }
    };
    if records.is_empty() {
        return Err(TaskError::invalid_field(field, "no records"));
    }
    if records.len() > limits.max_records {
        return Err(TaskError::invalid_field(
            field,
            format!(
                "{} records; at most {} are taken",
                records.len(),
                limits.max_records
            ),
        ));
    }
    Ok(records)
}

/// `filename` under the data directory, refused when it is absolute, climbs out with `..`,
/// or resolves (through links) outside the directory.
fn confined_path(filename: &str, limits: &DataLimits) -> Result<PathBuf, String> {
    let Some(dir) = &limits.data_dir else {
        return Err("this server reads no training files (no training data_dir is configured); send the records inline".into());
    };
    let relative = Path::new(filename);
    let escapes = relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(format!(
            "'{filename}' must be a relative path inside the training data directory"
        ));
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("the training data directory cannot be read: {e}"))?;
    let path = root
        .join(relative)
        .canonicalize()
        .map_err(|_| format!("no file '{filename}' in the training data directory"))?;
    if !path.starts_with(&root) {
        return Err(format!(
            "'{filename}' leads outside the training data directory"
        ));
    }
    if !path.is_file() {
        return Err(format!("'{filename}' is not a file"));
    }
    Ok(path)
}

/// Records of a local file (a client sending them inline): the same formats and per-record
/// checks as files read on the server, without the data-directory confinement.
pub fn read_local_file<R: TrainRecord>(path: &Path, limits: &DataLimits) -> Result<Vec<R>, String> {
    let name = path.display().to_string();
    read_file(path, &name, limits).map_err(|errors| match errors {
        FileErrors::File(reason) => reason,
        FileErrors::Records(reasons) => reasons.join("\n"),
    })
}

enum FileErrors {
    File(String),
    Records(Vec<String>),
}

fn read_file<R: TrainRecord>(
    path: &Path,
    filename: &str,
    limits: &DataLimits,
) -> Result<Vec<R>, FileErrors> {
    let size = path.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limits.max_file_bytes {
        return Err(FileErrors::File(format!(
            "'{filename}' has {size} bytes; at most {} are read",
            limits.max_file_bytes
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileErrors::File(format!("'{filename}' cannot be read as UTF-8 text: {e}")))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let values = match extension.to_ascii_lowercase().as_str() {
        "jsonl" => json_lines(&text),
        "json" => json_array(&text),
        "csv" => csv_rows(&text, R::LIST_FIELDS),
        _ => Err(format!("'{filename}' is not .jsonl, .json or .csv")),
    }
    .map_err(|reason| FileErrors::File(format!("'{filename}': {reason}")))?;
    typed_records(values)
}

/// Values with where they came from ("line 4").
type Located = Vec<(String, Value)>;

fn json_lines(text: &str) -> Result<Located, String> {
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value =
            serde_json::from_str(line).map_err(|e| format!("line {} is not JSON: {e}", i + 1))?;
        values.push((format!("line {}", i + 1), value));
    }
    Ok(values)
}

fn json_array(text: &str) -> Result<Located, String> {
    match serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))? {
        Value::Array(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("item {i}"), v))
            .collect()),
        _ => Err("a .json file must hold an array of records".into()),
    }
}

fn csv_rows(text: &str, list_fields: &[&str]) -> Result<Located, String> {
    let mut rows = csv::parse(text)?.into_iter();
    let Some((_, header)) = rows.next() else {
        return Ok(Vec::new());
    };
    rows.map(|(line, cells)| {
        if cells.len() != header.len() {
            return Err(format!(
                "line {line} has {} fields, the header {}",
                cells.len(),
                header.len()
            ));
        }
        let mut record = Map::new();
        for (name, cell) in header.iter().zip(cells) {
            let value = if list_fields.contains(&name.as_str()) {
                if cell.trim_start().starts_with('[') {
                    serde_json::from_str(&cell)
                        .map_err(|e| format!("line {line}, {name}: not a JSON list: {e}"))?
                } else {
                    Value::Array(vec![Value::String(cell)])
                }
            } else {
                Value::String(cell)
            };
            record.insert(name.clone(), value);
        }
        Ok((format!("line {line}"), Value::Object(record)))
    })
    .collect()
}

/// Checks every value against the record schema, then types them.
fn typed_records<R: TrainRecord>(values: Located) -> Result<Vec<R>, FileErrors> {
    let validator = jsonschema::validator_for(&request::<R>())
        .unwrap_or_else(|e| panic!("the record schema does not compile: {e}. This is a bug."));
    let mut problems = Vec::new();
    for (i, (place, value)) in values.iter().enumerate() {
        for error in validator.iter_errors(value) {
            let pointer = error.instance_path().to_string();
            let at = if pointer.is_empty() {
                String::new()
            } else {
                format!(" {pointer}")
            };
            problems.push(format!("record {i} ({place}){at}: {error}"));
        }
        if problems.len() >= MAX_REPORTED_RECORDS {
            break;
        }
    }
    if !problems.is_empty() {
        problems.truncate(MAX_REPORTED_RECORDS);
        return Err(FileErrors::Records(problems));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, (place, value))| {
            serde_json::from_value(value)
                .map_err(|e| FileErrors::Records(vec![format!("record {i} ({place}): {e}")]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskgate_schemas::FileReference;

    fn data_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taskgate-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("inside")).unwrap();
        dir
    }

    fn limits(dir: &Path) -> DataLimits {
        DataLimits {
            data_dir: Some(dir.join("inside")),
            max_records: 100,
            max_file_bytes: 1 << 20,
        }
    }

    fn file(name: &str) -> DataStreamSource<ClassificationTrainRecord> {
        DataStreamSource {
            data_stream: DataStream::File(RecordsFile {
                file: FileReference {
                    filename: name.into(),
                },
            }),
        }
    }

    fn error(result: Result<Vec<ClassificationTrainRecord>, TaskError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn jsonl_json_and_csv_files_give_the_same_records() {
        let dir = data_dir("formats");
        let inside = dir.join("inside");
        std::fs::write(inside.join("a.jsonl"), "{\"text\": \"good, really\", \"labels\": [\"pos\"]}\n\n{\"text\": \"bad\", \"labels\": [\"neg\", \"x\"]}\n").unwrap();
        std::fs::write(inside.join("a.json"), "[{\"text\": \"good, really\", \"labels\": [\"pos\"]}, {\"text\": \"bad\", \"labels\": [\"neg\", \"x\"]}]").unwrap();
        std::fs::write(
            inside.join("a.csv"),
            "text,labels\n\"good, really\",pos\nbad,\"[\"\"neg\"\", \"\"x\"\"]\"\n",
        )
        .unwrap();
        let read = |name: &str| {
            read_records(&file(name), "/parameters/train_stream", &limits(&dir)).unwrap()
        };
        let jsonl = read("a.jsonl");
        assert_eq!(jsonl[1].labels, vec!["neg", "x"]);
        assert_eq!(read("a.json"), jsonl);
        assert_eq!(read("a.csv"), jsonl);
    }

    #[test]
    fn paths_outside_the_data_directory_are_refused() {
        let dir = data_dir("confined");
        std::fs::write(
            dir.join("secret.jsonl"),
            "{\"text\": \"t\", \"labels\": [\"l\"]}\n",
        )
        .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("secret.jsonl"), dir.join("inside/link.jsonl"))
            .unwrap();
        let read = |name: &str| {
            error(read_records(
                &file(name),
                "/parameters/train_stream",
                &limits(&dir),
            ))
        };
        assert!(
            read("../secret.jsonl").contains("must be a relative path inside"),
            "{}",
            read("../secret.jsonl")
        );
        let absolute = dir.join("secret.jsonl").display().to_string();
        assert!(read(&absolute).contains("must be a relative path inside"));
        #[cfg(unix)]
        assert!(
            read("link.jsonl").contains("leads outside"),
            "{}",
            read("link.jsonl")
        );
        assert!(read("missing.jsonl").contains("no file 'missing.jsonl'"));
        let none = DataLimits {
            data_dir: None,
            ..limits(&dir)
        };
        let refused = error(read_records(
            &file("a.jsonl"),
            "/parameters/train_stream",
            &none,
        ));
        assert!(refused.contains("send the records inline"), "{refused}");
    }

    #[test]
    fn bad_records_are_named_by_index_line_and_field() {
        let dir = data_dir("records");
        std::fs::write(
            dir.join("inside/bad.jsonl"),
            "{\"text\": \"ok\", \"labels\": [\"a\"]}\n{\"text\": \"\", \"labels\": [\"a\"]}\n{\"text\": \"x\", \"labels\": []}\n",
        )
        .unwrap();
        let result = read_records(
            &file("bad.jsonl"),
            "/parameters/train_stream",
            &limits(&dir),
        );
        let TaskError::InvalidArgument { fields, .. } = result.unwrap_err() else {
            panic!("not an invalid argument");
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(
            fields[0].path,
            "/parameters/train_stream/data_stream/file/filename"
        );
        assert!(
            fields[0].message.starts_with("record 1 (line 2) /text:"),
            "{}",
            fields[0].message
        );
        assert!(
            fields[1].message.starts_with("record 2 (line 3) /labels:"),
            "{}",
            fields[1].message
        );
    }

    #[test]
    fn too_many_records_and_unknown_formats_are_refused() {
        let dir = data_dir("limits");
        let line = "{\"text\": \"t\", \"labels\": [\"l\"]}\n";
        std::fs::write(dir.join("inside/many.jsonl"), line.repeat(3)).unwrap();
        std::fs::write(dir.join("inside/data.txt"), line).unwrap();
        let small = DataLimits {
            max_records: 2,
            ..limits(&dir)
        };
        let read = |name: &str| {
            error(read_records(
                &file(name),
                "/parameters/train_stream",
                &small,
            ))
        };
        assert!(
            read("many.jsonl").contains("3 records; at most 2"),
            "{}",
            read("many.jsonl")
        );
        assert!(read("data.txt").contains("not .jsonl, .json or .csv"));
    }
}
