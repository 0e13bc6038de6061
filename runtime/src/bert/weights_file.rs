//! A safetensors file read one tensor at a time, each straight into its own buffer. Mapping the
//! file instead (candle's `from_mmaped_safetensors`) keeps every page read resident beside the
//! tensor copied from it until the map closes, so a 90 MB encoder took 180 MB while it loaded.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use candle_core::{DType, Device, Result, Shape, Tensor, bail};
use candle_nn::Init;
use candle_nn::var_builder::SimpleBackend;
use serde::Deserialize;

/// The format's own bound on the JSON header, so a corrupt length cannot ask for gigabytes.
const MAX_HEADER_BYTES: u64 = 100_000_000;

#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

#[derive(Debug)]
struct Stored {
    dtype: DType,
    shape: Vec<usize>,
    /// From the start of the file.
    offset: u64,
    bytes: usize,
}

pub(crate) struct WeightsFile {
    path: PathBuf,
    file: Mutex<File>,
    tensors: HashMap<String, Stored>,
}

fn dtype_of(name: &str) -> Option<DType> {
    Some(match name {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        "I64" => DType::I64,
        "U32" => DType::U32,
        "U8" => DType::U8,
        _ => return None,
    })
}

impl WeightsFile {
    /// Reads and checks the header: every tensor's bytes must lie inside the file and match its
    /// shape and type.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = File::open(path)?;
        let file_bytes = file.metadata()?.len();
        let mut length = [0u8; 8];
        file.read_exact(&mut length)?;
        let header_bytes = u64::from_le_bytes(length);
        if header_bytes > MAX_HEADER_BYTES || 8 + header_bytes > file_bytes {
            bail!("a safetensors header of {header_bytes} bytes in a file of {file_bytes}")
        }
        let mut header = vec![0u8; header_bytes as usize];
        file.read_exact(&mut header)?;
        let entries: HashMap<String, serde_json::Value> = serde_json::from_slice(&header)
            .map_err(|e| candle_core::Error::Msg(format!("safetensors header: {e}")))?;
        let data_start = 8 + header_bytes;
        let mut tensors = HashMap::with_capacity(entries.len());
        for (name, value) in entries {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry = serde_json::from_value(value)
                .map_err(|e| candle_core::Error::Msg(format!("tensor {name}: {e}")))?;
            let Some(dtype) = dtype_of(&entry.dtype) else {
                bail!("tensor {name}: unsupported type {}", entry.dtype)
            };
            let [start, end] = entry.data_offsets;
            let expected = entry
                .shape
                .iter()
                .try_fold(dtype.size_in_bytes(), |n, &d| n.checked_mul(d));
            let inside = end >= start && data_start.saturating_add(end) <= file_bytes;
            if !inside || expected != usize::try_from(end - start).ok() {
                bail!(
                    "tensor {name}: bytes {start}..{end} do not hold a {:?} {:?} in a file of \
                     {file_bytes} bytes",
                    dtype,
                    entry.shape
                )
            }
            let stored = Stored {
                dtype,
                shape: entry.shape,
                offset: data_start + start,
                bytes: (end - start) as usize,
            };
            tensors.insert(name, stored);
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            tensors,
        })
    }

    /// Bytes of `name` when it is an f32 matrix, which [`Self::rows`] can leave in the file.
    pub fn row_table_bytes(&self, name: &str) -> Option<u64> {
        self.tensors
            .get(name)
            .filter(|t| t.dtype == DType::F32 && t.shape.len() == 2)
            .map(|t| t.bytes as u64)
    }

    /// The f32 matrix `name` left in the file, its rows read as lookups ask for them.
    pub fn rows(self, name: &str) -> Result<FileRows> {
        let Some(stored) = self.tensors.get(name) else {
            return Err(candle_core::Error::CannotFindTensor {
                path: format!("{} in {}", name, self.path.display()),
            });
        };
        let &[rows, width] = stored.shape.as_slice() else {
            bail!("{name} is {:?}, not a matrix", stored.shape)
        };
        if stored.dtype != DType::F32 {
            bail!("{name} is {:?}, not f32", stored.dtype)
        }
        Ok(FileRows {
            name: format!("{} in {}", name, self.path.display()),
            file: self.file,
            offset: stored.offset,
            rows,
            width,
        })
    }

    /// The tensor `name` as stored, in CPU memory of its own.
    pub fn read(&self, name: &str) -> Result<Tensor> {
        let Some(stored) = self.tensors.get(name) else {
            return Err(candle_core::Error::CannotFindTensor {
                path: format!("{} in {}", name, self.path.display()),
            });
        };
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.seek(SeekFrom::Start(stored.offset))?;
        if stored.dtype == DType::F32 {
            // Read into the tensor's own storage: no second copy of the bytes.
            let mut values = vec![0f32; stored.bytes / 4];
            file.read_exact(bytemuck::cast_slice_mut(&mut values))?;
            if cfg!(target_endian = "big") {
                values
                    .iter_mut()
                    .for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
            }
            return Tensor::from_vec(values, stored.shape.as_slice(), &Device::Cpu);
        }
        let mut raw = vec![0u8; stored.bytes];
        file.read_exact(&mut raw)?;
        Tensor::from_raw_buffer(&raw, stored.dtype, &stored.shape, &Device::Cpu)
    }
}

/// An f32 `(rows, width)` matrix left in its file, read row by row per lookup: an embedding
/// table most of whose rows a request never touches (a 30k-word vocabulary is 47 MB as f32).
/// The file's pages stay in the kernel's page cache, shared and reclaimable, instead of in the
/// process; a lookup costs one read per distinct row, microseconds against a forward pass.
pub(crate) struct FileRows {
    name: String,
    file: Mutex<File>,
    offset: u64,
    rows: usize,
    width: usize,
}

impl FileRows {
    /// `(rows, width)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.rows, self.width)
    }

    /// The rows of `ids` (u32, any shape): `(..ids, width)`.
    pub fn lookup(&self, ids: &Tensor) -> Result<Tensor> {
        let flat = ids.flatten_all()?.to_vec1::<u32>()?;
        let width = self.width;
        let mut values = vec![0f32; flat.len() * width];
        // Padding and special tokens repeat within a batch: each distinct row is read once.
        let mut first_at = HashMap::with_capacity(flat.len());
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, &id) in flat.iter().enumerate() {
            if let Some(&earlier) = first_at.get(&id) {
                values.copy_within(earlier * width..(earlier + 1) * width, i * width);
                continue;
            }
            if id as usize >= self.rows {
                bail!(
                    "token id {id} is outside the {} rows of {}",
                    self.rows,
                    self.name
                )
            }
            file.seek(SeekFrom::Start(
                self.offset + (id as u64) * (width as u64) * 4,
            ))?;
            let row = &mut values[i * width..(i + 1) * width];
            file.read_exact(bytemuck::cast_slice_mut(row))?;
            if cfg!(target_endian = "big") {
                row.iter_mut()
                    .for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
            }
            first_at.insert(id, i);
        }
        let mut shape = ids.dims().to_vec();
        shape.push(width);
        Tensor::from_vec(values, shape, ids.device())
    }
}

impl SimpleBackend for WeightsFile {
    fn get(&self, s: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, dev)?;
        if tensor.shape() != &s {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("shape of {name} in {}", self.path.display()),
                expected: s,
                got: tensor.shape().clone(),
            });
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.read(name)?.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taskgate-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("model.safetensors")
    }

    fn write(path: &Path, tensors: &[(&str, Tensor)]) {
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        candle_core::safetensors::save(&map, path).unwrap();
    }

    #[test]
    fn tensors_read_back_as_saved() {
        let path = scratch("weights-file");
        let weights = Tensor::arange(0f32, 12.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 4))
            .unwrap();
        let ids = Tensor::new(&[[0i64, 1, 2]], &Device::Cpu).unwrap();
        let half = weights.to_dtype(DType::F16).unwrap();
        write(&path, &[("w", weights.clone()), ("ids", ids), ("h", half)]);
        let file = WeightsFile::open(&path).unwrap();
        let read = file.read("w").unwrap();
        assert_eq!(
            read.to_vec2::<f32>().unwrap(),
            weights.to_vec2::<f32>().unwrap()
        );
        assert_eq!(
            file.read("ids").unwrap().to_vec2::<i64>().unwrap(),
            [[0, 1, 2]]
        );
        let as_f32 = file.get_unchecked("h", DType::F32, &Device::Cpu).unwrap();
        assert_eq!(
            as_f32.to_vec2::<f32>().unwrap(),
            weights.to_vec2::<f32>().unwrap()
        );
        assert!(file.contains_tensor("w") && !file.contains_tensor("x"));
        let missing = file.read("x").unwrap_err().to_string();
        assert!(missing.contains("x in"), "{missing}");
        let shape = file
            .get(
                (4, 3).into(),
                "w",
                Init::Const(0.0),
                DType::F32,
                &Device::Cpu,
            )
            .unwrap_err()
            .to_string();
        assert!(shape.contains("shape"), "{shape}");
    }

    #[test]
    fn rows_left_in_the_file_are_the_tables_rows() {
        let path = scratch("weights-file-rows");
        let table = Tensor::arange(0f32, 20.0, &Device::Cpu)
            .unwrap()
            .reshape((5, 4))
            .unwrap();
        write(
            &path,
            &[
                ("table", table.clone()),
                ("ids", Tensor::new(&[1u32], &Device::Cpu).unwrap()),
            ],
        );
        let rows = WeightsFile::open(&path).unwrap().rows("table").unwrap();
        assert_eq!(rows.dims(), (5, 4));
        let ids = Tensor::new(&[[4u32, 0, 4], [0, 0, 2]], &Device::Cpu).unwrap();
        let got = rows.lookup(&ids).unwrap();
        let want = candle_nn::Embedding::new(table, 4);
        let want = candle_core::Module::forward(&want, &ids).unwrap();
        assert_eq!(got.dims(), &[2, 3, 4]);
        assert_eq!(
            got.to_vec3::<f32>().unwrap(),
            want.to_vec3::<f32>().unwrap()
        );
        let err = rows
            .lookup(&Tensor::new(&[5u32], &Device::Cpu).unwrap())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("token id 5 is outside the 5 rows of table"),
            "{err}"
        );
        let not_f32 = WeightsFile::open(&path).unwrap().rows("ids").err().unwrap();
        assert!(not_f32.to_string().contains("not a matrix"), "{not_f32}");
    }

    #[test]
    fn a_header_pointing_outside_the_file_is_refused() {
        let path = scratch("weights-file-bad");
        let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0u8; 8]);
        std::fs::write(&path, &bytes).unwrap();
        let err = WeightsFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("tensor w: bytes 0..16"), "{err}");
        std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
        let err = WeightsFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("safetensors header"), "{err}");
    }
}
