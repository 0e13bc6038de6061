//! The training job manager: takes jobs into a bounded queue, runs them on its own threads (so
//! inference keeps its cores' worth of threads responsive), keeps their status (persisted on
//! every state change and epoch), cancels them within one step, and serves each trained model
//! under its name as soon as it is published.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use taskgate_runtime::RuntimeError;
use taskgate_runtime::tuning::{EpochReport, StepReport, TrainingObserver, TuningError, durable};
use taskgate_schemas::{TrainingJob, TrainingProgress, TrainingState, TrainingStatusResponse};
use tokio::sync::watch;

use super::clock;
use super::data_stream::DataLimits;
use super::job_store::{JobRecord, JobStore};
use super::viewer::Viewer;
use crate::{LoadPolicy, Model, ModelRegistry, ModelSource, ModuleError, TaskError};

/// The reason of jobs a shutdown stopped.
const SHUTDOWN: &str = "shutdown";

/// How long a cancel waits for a running job to stop before answering with its state.
const CANCEL_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSettings {
    /// Job records and trained models: `<output_dir>/<training_id>/`.
    pub output_dir: PathBuf,
    pub data: DataLimits,
    /// Jobs trained at once.
    pub threads: usize,
    /// Jobs waiting beyond those; more are refused with "retry later".
    pub queue: usize,
    /// The most memory one job's estimate may come to (see [`super::memory`]).
    pub max_memory_bytes: u64,
    /// When trained models load (the server's `models_load`).
    pub load: LoadPolicy,
}

/// A trainer's work for one job, run on a training thread: write the model into the staging
/// directory, reporting progress to the observer (which may stop it).
pub type TrainWork =
    Box<dyn FnOnce(&mut dyn TrainingObserver, &Path) -> Result<(), TuningError> + Send>;

/// Builds the servable model `name` from a trained model directory.
pub type ModelLoader = fn(&ModelRegistry, &str, &Path) -> Result<Model, ModuleError>;

struct Entry {
    record: JobRecord,
    cancel: Arc<AtomicBool>,
    updates: watch::Sender<TrainingStatusResponse>,
}

struct Queued {
    training_id: String,
    work: TrainWork,
}

struct Inner {
    store: JobStore,
    registry: ModelRegistry,
    loaders: HashMap<&'static str, ModelLoader>,
    jobs: Mutex<BTreeMap<String, Entry>>,
    queue: SyncSender<Queued>,
    queue_size: usize,
    data: DataLimits,
    max_memory_bytes: u64,
    /// Set when the process stops: jobs still queued or running end CANCELED ("shutdown").
    shutting_down: AtomicBool,
    /// When trained models load.
    load: LoadPolicy,
}

#[derive(Clone)]
pub struct TrainingManager {
    inner: Arc<Inner>,
}

fn not_found(training_id: &str) -> TaskError {
    TaskError::TrainingNotFound(training_id.to_string())
}

fn visible<'j>(
    jobs: &'j BTreeMap<String, Entry>,
    training_id: &str,
    viewer: Viewer<'_>,
) -> Result<&'j Entry, TaskError> {
    jobs.get(training_id)
        .filter(|entry| viewer.sees(&entry.record))
        .ok_or_else(|| not_found(training_id))
}

impl TrainingManager {
    /// Reads the jobs on disk (marking interrupted ones errored), serves the models of completed
    /// ones, and starts the training threads. `loaders` builds models per trainer name.
    pub fn start(
        settings: TrainingSettings,
        registry: ModelRegistry,
        loaders: HashMap<&'static str, ModelLoader>,
    ) -> Result<Self, ModuleError> {
        let store = JobStore::new(&settings.output_dir);
        let (queue, receiver) = std::sync::mpsc::sync_channel(settings.queue);
        let inner = Arc::new(Inner {
            store,
            registry,
            loaders,
            jobs: Mutex::new(BTreeMap::new()),
            queue,
            queue_size: settings.queue,
            data: settings.data,
            max_memory_bytes: settings.max_memory_bytes,
            shutting_down: AtomicBool::new(false),
            load: settings.load,
        });
        for mut record in inner.store.recover(&clock::now()) {
            // A trained model is registered like any other: it loads as `models_load` says,
            // and one that fails to load is FAILED with its reason (retried with backoff)
            // while the others serve. A name a config model took since cannot be served: the
            // job shows why (in memory only, so renaming the config model serves it again).
            if record.status.state == TrainingState::Completed
                && let Err(error) = inner.register(&record)
            {
                tracing::error!(
                    training_id = %record.status.training_id,
                    model = %record.status.model_name,
                    %error,
                    "a trained model cannot be served; serving the others"
                );
                record.status.state = TrainingState::Errored;
                record
                    .status
                    .reasons
                    .push(format!("the trained model cannot be served: {error}"));
            }
            let id = record.status.training_id.clone();
            let (updates, _) = watch::channel(record.status.clone());
            let entry = Entry {
                record,
                cancel: Arc::default(),
                updates,
            };
            inner.lock().insert(id, entry);
        }
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..settings.threads.max(1) {
            let (inner, receiver) = (inner.clone(), receiver.clone());
            std::thread::Builder::new()
                .name(format!("training-{n}"))
                .spawn(move || inner.run_jobs(&receiver))
                .map_err(|e| {
                    ModuleError::Training(format!("cannot start a training thread: {e}"))
                })?;
        }
        Ok(Self { inner })
    }

    pub fn data_limits(&self) -> &DataLimits {
        &self.inner.data
    }

    /// The most memory one job may be estimated to take.
    pub fn memory_budget(&self) -> u64 {
        self.inner.max_memory_bytes
    }

    pub fn registry(&self) -> &ModelRegistry {
        &self.inner.registry
    }

    /// Queues `work` as a job training `model_name` with `trainer`, owned by `owner`.
    pub fn submit(
        &self,
        model_name: &str,
        trainer: &'static str,
        owner: Option<&str>,
        work: TrainWork,
    ) -> Result<TrainingJob, TaskError> {
        let inner = &self.inner;
        let mut jobs = inner.lock();
        let taken = inner.registry.contains(model_name)
            || jobs.values().any(|e| {
                e.record.status.model_name == model_name
                    && matches!(
                        e.record.status.state,
                        TrainingState::Queued | TrainingState::Running | TrainingState::Completed
                    )
            });
        if taken {
            return Err(TaskError::Conflict(format!(
                "a model named '{model_name}' is already served or being trained; choose another \
                 model_name"
            )));
        }
        let training_id = uuid::Uuid::new_v4().to_string();
        let status = TrainingStatusResponse {
            training_id: training_id.clone(),
            model_name: model_name.to_string(),
            state: TrainingState::Queued,
            submission_timestamp: clock::now(),
            completion_timestamp: None,
            reasons: Vec::new(),
            progress: TrainingProgress::default(),
        };
        let record = JobRecord {
            status: status.clone(),
            trainer: trainer.to_string(),
            owner: owner.map(str::to_string),
        };
        inner.store.save(&record).map_err(|e| {
            TaskError::Runtime(RuntimeError::Unavailable(format!(
                "cannot record the job: {e}"
            )))
        })?;
        let queued = Queued {
            training_id: training_id.clone(),
            work,
        };
        if let Err(error) = inner.queue.try_send(queued) {
            let _ = std::fs::remove_dir_all(inner.store.job_dir(&training_id));
            return Err(match error {
                TrySendError::Full(_) => TaskError::Runtime(RuntimeError::Overloaded {
                    what: "the training queue".into(),
                    limit: inner.queue_size,
                }),
                TrySendError::Disconnected(_) => TaskError::Runtime(RuntimeError::Unavailable(
                    "training threads are gone".into(),
                )),
            });
        }
        let (updates, _) = watch::channel(status);
        let entry = Entry {
            record,
            cancel: Arc::default(),
            updates,
        };
        jobs.insert(training_id.clone(), entry);
        Ok(TrainingJob {
            training_id,
            model_name: model_name.to_string(),
        })
    }

    /// The job's status; `viewer` is whose jobs the caller sees (`Everyone`, or one owner's:
    /// another owner's job is not found, so ids reveal nothing).
    pub fn status(
        &self,
        training_id: &str,
        viewer: Viewer<'_>,
    ) -> Result<TrainingStatusResponse, TaskError> {
        let jobs = self.inner.lock();
        let entry = visible(&jobs, training_id, viewer)?;
        Ok(entry.record.status.clone())
    }

    /// Every job the viewer sees, newest first.
    pub fn list(&self, viewer: Viewer<'_>) -> Vec<TrainingStatusResponse> {
        let jobs = self.inner.lock();
        let mut all: Vec<_> = jobs
            .values()
            .filter(|e| viewer.sees(&e.record))
            .map(|e| e.record.status.clone())
            .collect();
        all.sort_by(|a, b| b.submission_timestamp.cmp(&a.submission_timestamp));
        all
    }

    /// Every change of the job's status, from now until it ends.
    pub fn watch(
        &self,
        training_id: &str,
        viewer: Viewer<'_>,
    ) -> Result<watch::Receiver<TrainingStatusResponse>, TaskError> {
        let jobs = self.inner.lock();
        let entry = visible(&jobs, training_id, viewer)?;
        Ok(entry.updates.subscribe())
    }

    /// Deletes an ended job: its trained model stops being served and its directory (record
    /// and model files) is removed, durably. A queued or running job must be canceled first.
    pub fn delete(
        &self,
        training_id: &str,
        viewer: Viewer<'_>,
    ) -> Result<TrainingStatusResponse, TaskError> {
        let inner = &self.inner;
        let mut jobs = inner.lock();
        let entry = visible(&jobs, training_id, viewer)?;
        let mut status = entry.record.status.clone();
        if !status.state.is_terminal() {
            return Err(TaskError::Conflict(format!(
                "training '{training_id}' is {}; cancel it before deleting it",
                format!("{:?}", status.state).to_uppercase()
            )));
        }
        if status.state == TrainingState::Completed {
            inner.registry.remove(&status.model_name);
        }
        durable::remove_dir(&inner.store.job_dir(training_id)).map_err(|e| {
            TaskError::Runtime(RuntimeError::Unavailable(format!(
                "cannot delete the job's files: {e}"
            )))
        })?;
        jobs.remove(training_id);
        status.reasons.push("deleted".into());
        tracing::info!(%training_id, model = %status.model_name, "training job and model deleted");
        Ok(status)
    }

    /// Stops training for a shutdown: queued jobs end CANCELED at once and running ones within
    /// one step, all with the reason `shutdown`; resolves when none is running (the caller
    /// bounds the wait).
    pub async fn shut_down(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let mut running = Vec::new();
        {
            let mut jobs = self.inner.lock();
            for entry in jobs.values_mut() {
                match entry.record.status.state {
                    TrainingState::Queued => {
                        entry.cancel.store(true, Ordering::SeqCst);
                        self.inner
                            .finish(entry, TrainingState::Canceled, vec![SHUTDOWN.into()]);
                    }
                    TrainingState::Running => {
                        entry.cancel.store(true, Ordering::SeqCst);
                        running.push(entry.updates.subscribe());
                    }
                    _ => {}
                }
            }
        }
        for mut updates in running {
            let _ = updates.wait_for(|s| s.state.is_terminal()).await;
        }
    }

    /// Cancels the job: a queued one at once, a running one within one training step (this
    /// waits for it). A job already ended keeps its state.
    pub async fn cancel(
        &self,
        training_id: &str,
        viewer: Viewer<'_>,
    ) -> Result<TrainingStatusResponse, TaskError> {
        let mut updates = {
            let mut jobs = self.inner.lock();
            visible(&jobs, training_id, viewer)?;
            let entry = jobs
                .get_mut(training_id)
                .ok_or_else(|| not_found(training_id))?;
            entry.cancel.store(true, Ordering::SeqCst);
            if entry.record.status.state == TrainingState::Queued {
                self.inner.finish(
                    entry,
                    TrainingState::Canceled,
                    vec!["canceled by request".into()],
                );
            }
            entry.updates.subscribe()
        };
        let ended = updates.wait_for(|s| s.state.is_terminal());
        let _ = tokio::time::timeout(CANCEL_WAIT, ended).await;
        self.status(training_id, viewer)
    }
}

impl Inner {
    // A panic under this lock leaves every entry whole (each change is one assignment).
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the registry (re)builds the job's trained model.
    fn source(&self, record: &JobRecord) -> Result<ModelSource, ModuleError> {
        let status = &record.status;
        let loader = *self.loaders.get(record.trainer.as_str()).ok_or_else(|| {
            ModuleError::Training(format!(
                "training {}: no trainer '{}' to load its model",
                status.training_id, record.trainer
            ))
        })?;
        let name = status.model_name.clone();
        let dir = self.store.model_dir(status);
        Ok(ModelSource::new(record.trainer.clone(), "candle", {
            let dir = dir.clone();
            move |registry| loader(registry, &name, &dir)
        })
        .files(Some(dir))
        .policy(self.load))
    }

    /// Registers the job's trained model, not loaded yet.
    fn register(&self, record: &JobRecord) -> Result<(), ModuleError> {
        let source = self.source(record)?;
        self.registry.register(&record.status.model_name, source)
    }

    /// Builds the just-trained model (a model that does not load fails its job) and serves
    /// it, loaded.
    fn serve(&self, record: &JobRecord) -> Result<(), ModuleError> {
        let source = self.source(record)?;
        self.registry
            .register_built(&record.status.model_name, source)
    }

    /// Applies `change` to the job's status, saves it (when `persist`) and tells watchers.
    fn update(
        &self,
        training_id: &str,
        persist: bool,
        change: impl FnOnce(&mut TrainingStatusResponse),
    ) {
        let mut jobs = self.lock();
        let Some(entry) = jobs.get_mut(training_id) else {
            return;
        };
        change(&mut entry.record.status);
        if persist {
            self.save(&entry.record);
        }
        entry.updates.send_replace(entry.record.status.clone());
    }

    fn save(&self, record: &JobRecord) {
        if let Err(e) = self.store.save(record) {
            tracing::error!(training_id = %record.status.training_id, error = %e, "cannot save the training job's state");
        }
    }

    fn finish(&self, entry: &mut Entry, state: TrainingState, reasons: Vec<String>) {
        let status = &mut entry.record.status;
        status.state = state;
        status.reasons.extend(reasons);
        status.completion_timestamp = Some(clock::now());
        self.save(&entry.record);
        entry.updates.send_replace(entry.record.status.clone());
    }

    fn finish_job(&self, training_id: &str, state: TrainingState, reasons: Vec<String>) {
        let mut jobs = self.lock();
        if let Some(entry) = jobs.get_mut(training_id) {
            self.finish(entry, state, reasons);
        }
        match state {
            TrainingState::Completed => tracing::info!(%training_id, "training completed"),
            _ => tracing::warn!(%training_id, ?state, "training ended without a model"),
        }
    }

    fn run_jobs(self: &Arc<Self>, receiver: &Mutex<Receiver<Queued>>) {
        loop {
            let next = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok(job) = next else {
                return;
            };
            self.run(job);
        }
    }

    fn run(self: &Arc<Self>, job: Queued) {
        let id = job.training_id;
        // Checked and changed under one lock: a cancel cannot slip in between.
        let (record, cancel) = {
            let mut jobs = self.lock();
            let Some(entry) = jobs.get_mut(&id) else {
                return;
            };
            if entry.record.status.state != TrainingState::Queued {
                return;
            }
            entry.record.status.state = TrainingState::Running;
            self.save(&entry.record);
            entry.updates.send_replace(entry.record.status.clone());
            (entry.record.clone(), entry.cancel.clone())
        };
        tracing::info!(training_id = %id, model = %record.status.model_name, "training started");
        let staged = match self.store.staging_dir(&record.status) {
            Ok(staged) => staged,
            Err(e) => return self.finish_job(&id, TrainingState::Errored, vec![e.to_string()]),
        };
        let mut observer = JobObserver {
            inner: self.clone(),
            training_id: id.clone(),
            cancel,
            trainer: record.trainer.clone(),
            last_step: std::time::Instant::now(),
        };
        let work = job.work;
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            work(&mut observer, &staged)
        }));
        let outcome = match trained {
            Ok(Ok(())) => self.publish(&record, &staged),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(TuningError::Failed(
                "the trainer failed unexpectedly".into(),
            )),
        };
        let _ = std::fs::remove_dir_all(&staged);
        match outcome {
            Ok(()) => self.finish_job(&id, TrainingState::Completed, Vec::new()),
            Err(TuningError::Canceled) => {
                let reason = if self.shutting_down.load(Ordering::SeqCst) {
                    SHUTDOWN
                } else {
                    "canceled by request"
                };
                self.finish_job(&id, TrainingState::Canceled, vec![reason.into()])
            }
            Err(e) => self.finish_job(&id, TrainingState::Errored, vec![e.to_string()]),
        }
    }

    /// Moves the trained model into place and serves it.
    fn publish(&self, record: &JobRecord, staged: &Path) -> Result<(), TuningError> {
        let target = self.store.model_dir(&record.status);
        durable::publish_dir(staged, &target)?;
        self.serve(record).map_err(|e| {
            let _ = std::fs::remove_dir_all(&target);
            TuningError::Failed(e.to_string())
        })
    }
}

/// Progress into the job's status; stops the trainer once the job is canceled.
struct JobObserver {
    inner: Arc<Inner>,
    training_id: String,
    cancel: Arc<AtomicBool>,
    /// The trainer's name, the label of its step durations.
    trainer: String,
    /// When the previous step ended (or the job started).
    last_step: std::time::Instant,
}

impl JobObserver {
    fn go_on(&self) -> ControlFlow<()> {
        if self.cancel.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl TrainingObserver for JobObserver {
    fn step(&mut self, report: &StepReport) -> ControlFlow<()> {
        let now = std::time::Instant::now();
        taskgate_runtime::metrics::engine()
            .training_step_seconds
            .observe(
                &[&self.trainer],
                now.duration_since(self.last_step).as_secs_f64(),
            );
        self.last_step = now;
        self.inner.update(&self.training_id, false, |s| {
            let p = &mut s.progress;
            p.epoch = report.epoch as u64;
            p.num_epochs = report.num_epochs as u64;
            p.step = report.step as u64;
            p.total_steps = report.total_steps as u64;
            p.loss = Some(report.loss);
        });
        self.go_on()
    }

    fn epoch(&mut self, report: &EpochReport) -> ControlFlow<()> {
        // Validation between epochs is not a step.
        self.last_step = std::time::Instant::now();
        self.inner.update(&self.training_id, true, |s| {
            let p = &mut s.progress;
            p.num_epochs = report.num_epochs as u64;
            if report.epoch == 0 {
                p.initial_validation_loss = report.validation_loss;
                return;
            }
            p.epoch = report.epoch as u64;
            p.validation_loss = report.validation_loss.or(p.validation_loss);
            p.validation_accuracy = report.validation_accuracy.or(p.validation_accuracy);
        });
        self.go_on()
    }
}
