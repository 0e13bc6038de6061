//! Training jobs on disk, one directory per job under the training output directory:
//! `<output>/<training_id>/job.json` (rewritten atomically on every change) and, once trained,
//! `<output>/<training_id>/<model_name>/` (published whole). A restart reads them back.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use taskgate_runtime::tuning::{TuningError, durable};
use taskgate_schemas::{TrainingState, TrainingStatusResponse};

const JOB_FILE: &str = "job.json";

/// What is kept of a job: its status, and how to serve what it trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub status: TrainingStatusResponse,
    /// The trainer that ran it (`classifier`, `prompt_tuning`).
    pub trainer: String,
    /// The API key that submitted it; only that key (and admins) see and change it. Records
    /// written before keys existed have none and are visible to admins only once keys are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
}

impl JobStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn job_dir(&self, training_id: &str) -> PathBuf {
        self.dir.join(training_id)
    }

    /// Where a completed job's model lives.
    pub fn model_dir(&self, status: &TrainingStatusResponse) -> PathBuf {
        self.job_dir(&status.training_id).join(&status.model_name)
    }

    /// A fresh, empty directory to train into, hidden from readers until published.
    pub fn staging_dir(&self, status: &TrainingStatusResponse) -> Result<PathBuf, TuningError> {
        let staged = durable::temporary_sibling(&self.model_dir(status));
        let _ = std::fs::remove_dir_all(&staged);
        std::fs::create_dir_all(&staged).map_err(|source| TuningError::Write {
            path: staged.clone(),
            source,
        })?;
        Ok(staged)
    }

    pub fn save(&self, record: &JobRecord) -> Result<(), TuningError> {
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|e| TuningError::Failed(format!("job record does not serialize: {e}")))?;
        durable::write_file(
            &self.job_dir(&record.status.training_id).join(JOB_FILE),
            &bytes,
        )
    }

    /// Every job on disk. Jobs that were queued or running when the process stopped are
    /// errored (`interrupted by restart`) and saved so; leftovers of unfinished training are
    /// removed. Unreadable job files are skipped with a warning.
    pub fn recover(&self, now: &str) -> Vec<JobRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path().join(JOB_FILE);
            if !path.is_file() {
                continue;
            }
            let record: JobRecord = match super::read_json(&path) {
                Ok(record) => record,
                Err(reason) => {
                    tracing::warn!(path = %path.display(), %reason, "training job record unreadable, skipped");
                    continue;
                }
            };
            records.push(self.settle(record, now));
        }
        records.sort_by(|a, b| {
            a.status
                .submission_timestamp
                .cmp(&b.status.submission_timestamp)
        });
        records
    }

    fn settle(&self, mut record: JobRecord, now: &str) -> JobRecord {
        remove_partials(&self.job_dir(&record.status.training_id));
        if record.status.state.is_terminal() {
            return record;
        }
        record.status.state = TrainingState::Errored;
        record.status.reasons.push("interrupted by restart".into());
        record.status.completion_timestamp = Some(now.to_string());
        if let Err(e) = self.save(&record) {
            tracing::warn!(training_id = %record.status.training_id, error = %e, "cannot save the interrupted job's state");
        }
        record
    }
}

/// Half-written model directories and files (names starting with `.`) in a job directory.
fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}
