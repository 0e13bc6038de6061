//! `caikit.runtime.Nlp.NlpTrainingService` and `caikit.runtime.training.TrainingManagement`:
//! train requests convert to their REST form and take the same checks; statuses are the REST
//! ones with proto timestamps and states.

use serde_json::{Map, Value, json};
use taskgate_schemas::{TrainingProgress, TrainingState, TrainingStatusResponse};
use tonic::{Request, Response, Status};

use super::call;
use super::pb::caikit::runtime::nlp as train;
use super::pb::caikit::runtime::nlp::data_stream_source_classification_train_record::DataStream;
use super::pb::caikit::runtime::nlp::data_stream_source_generation_train_record::DataStream as GenerationStream;
use super::pb::caikit::runtime::nlp::nlp_training_service_server::NlpTrainingService;
use super::pb::caikit::runtime::training::training_management_server::TrainingManagement;
use super::pb::caikit_data_model::common::TrainingStatus;
use super::pb::caikit_data_model::runtime as jobs;
use crate::auth::{Principal, TrainingRight};
use crate::error::ApiError;
use crate::rest::training::{manager, submit_classifier, submit_prompt_tuning};
use crate::state::AppState;

/// Who calls, or the refusal as the call's status.
fn caller<T>(
    state: &AppState,
    request: &Request<T>,
    request_id: &str,
) -> Result<Principal, Status> {
    call::authenticate(state, request).map_err(|error| error.into_grpc_status(request_id))
}

pub struct TrainingGrpc {
    state: AppState,
}

impl TrainingGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// `{"data_stream": {"data": records}}`, `{"data_stream": {"file": ...}}`, or (neither set)
/// an empty stream that fails the schema, which names the field.
fn data_stream(records: Option<Vec<Value>>, filename: Option<String>) -> Value {
    let stream = match (records, filename) {
        (Some(data), _) => json!({ "data": data }),
        (None, Some(filename)) => json!({"file": {"filename": filename}}),
        (None, None) => json!({}),
    };
    json!({ "data_stream": stream })
}

fn stream_json(source: train::DataStreamSourceClassificationTrainRecord) -> Value {
    match source.data_stream {
        Some(DataStream::Jsondata(inline)) => {
            let data = inline.data.into_iter();
            data_stream(
                Some(
                    data.map(|r| json!({"text": r.text, "labels": r.labels}))
                        .collect(),
                ),
                None,
            )
        }
        Some(DataStream::File(file)) => data_stream(None, Some(file.filename)),
        None => data_stream(None, None),
    }
}

fn generation_stream_json(source: train::DataStreamSourceGenerationTrainRecord) -> Value {
    match source.data_stream {
        Some(GenerationStream::Jsondata(inline)) => {
            let data = inline.data.into_iter();
            data_stream(
                Some(
                    data.map(|r| json!({"input": r.input, "output": r.output}))
                        .collect(),
                ),
                None,
            )
        }
        Some(GenerationStream::File(file)) => data_stream(None, Some(file.filename)),
        None => data_stream(None, None),
    }
}

/// Sets each present value of `optional` in `object`.
fn insert_present(object: &mut Map<String, Value>, optional: Vec<(&str, Option<Value>)>) {
    for (key, value) in optional {
        if let Some(value) = value {
            object.insert(key.into(), value);
        }
    }
}

/// The REST body of a classifier train request; unset optional fields stay absent.
fn classifier_request_json(request: train::TextClassificationTaskClassifierTrainRequest) -> Value {
    let mut parameters = Map::new();
    if let Some(p) = request.parameters {
        parameters.insert("base_model".into(), p.base_model.into());
        if let Some(stream) = p.train_stream {
            parameters.insert("train_stream".into(), stream_json(stream));
        }
        if let Some(stream) = p.val_stream {
            parameters.insert("val_stream".into(), stream_json(stream));
        }
        let optional = vec![
            ("validation_split", p.validation_split.map(Value::from)),
            ("num_epochs", p.num_epochs.map(Value::from)),
            ("learning_rate", p.learning_rate.map(Value::from)),
            ("batch_size", p.batch_size.map(Value::from)),
            ("seed", p.seed.map(Value::from)),
            ("multi_label", p.multi_label.map(Value::from)),
            (
                "tune_encoder_layers",
                p.tune_encoder_layers.map(Value::from),
            ),
            (
                "encoder_learning_rate",
                p.encoder_learning_rate.map(Value::from),
            ),
        ];
        insert_present(&mut parameters, optional);
    }
    json!({"model_name": request.model_name, "parameters": parameters})
}

/// The REST body of a prompt-tuning request; unset optional fields stay absent.
fn prompt_tuning_request_json(
    request: train::TextGenerationTaskPeftPromptTuningTrainRequest,
) -> Value {
    let mut parameters = Map::new();
    if let Some(p) = request.parameters {
        parameters.insert("base_model".into(), p.base_model.into());
        if let Some(stream) = p.train_stream {
            parameters.insert("train_stream".into(), generation_stream_json(stream));
        }
        if let Some(stream) = p.val_stream {
            parameters.insert("val_stream".into(), generation_stream_json(stream));
        }
        if let Some(tuning) = p.tuning_config {
            let mut config = Map::new();
            let optional = vec![
                (
                    "num_virtual_tokens",
                    tuning.num_virtual_tokens.map(Value::from),
                ),
                (
                    "prompt_tuning_init_text",
                    tuning.prompt_tuning_init_text.map(Value::from),
                ),
                (
                    "prompt_tuning_init_method",
                    tuning.prompt_tuning_init_method.map(Value::from),
                ),
            ];
            insert_present(&mut config, optional);
            parameters.insert("tuning_config".into(), config.into());
        }
        let optional = vec![
            ("tuning_type", p.tuning_type.map(Value::from)),
            ("num_epochs", p.num_epochs.map(Value::from)),
            ("learning_rate", p.learning_rate.map(Value::from)),
            ("verbalizer", p.verbalizer.map(Value::from)),
            ("batch_size", p.batch_size.map(Value::from)),
            ("max_source_length", p.max_source_length.map(Value::from)),
            ("max_target_length", p.max_target_length.map(Value::from)),
            ("seed", p.seed.map(Value::from)),
        ];
        insert_present(&mut parameters, optional);
    }
    json!({"model_name": request.model_name, "parameters": parameters})
}

fn job_response(
    job: Result<taskgate_schemas::TrainingJob, ApiError>,
    request_id: &str,
) -> Result<Response<jobs::TrainingJob>, Status> {
    match job {
        Ok(job) => Ok(Response::new(jobs::TrainingJob {
            training_id: job.training_id,
            model_name: job.model_name,
        })),
        Err(error) => Err(error.into_grpc_status(request_id)),
    }
}

fn timestamp(rfc3339: &str) -> Option<prost_types::Timestamp> {
    rfc3339.parse().ok()
}

fn progress(p: TrainingProgress) -> jobs::TrainingProgress {
    jobs::TrainingProgress {
        epoch: p.epoch,
        num_epochs: p.num_epochs,
        step: p.step,
        total_steps: p.total_steps,
        loss: p.loss,
        validation_loss: p.validation_loss,
        validation_accuracy: p.validation_accuracy,
        initial_validation_loss: p.initial_validation_loss,
    }
}

fn status_message(status: TrainingStatusResponse) -> jobs::TrainingStatusResponse {
    let state = match status.state {
        TrainingState::Queued => TrainingStatus::Queued,
        TrainingState::Running => TrainingStatus::Running,
        TrainingState::Completed => TrainingStatus::Completed,
        TrainingState::Canceled => TrainingStatus::Canceled,
        TrainingState::Errored => TrainingStatus::Errored,
    };
    jobs::TrainingStatusResponse {
        training_id: status.training_id,
        state: state.into(),
        submission_timestamp: timestamp(&status.submission_timestamp),
        completion_timestamp: status.completion_timestamp.as_deref().and_then(timestamp),
        reasons: status.reasons,
        model_name: status.model_name,
        progress: Some(progress(status.progress)),
    }
}

#[tonic::async_trait]
impl NlpTrainingService for TrainingGrpc {
    async fn text_classification_task_classifier_train(
        &self,
        request: Request<train::TextClassificationTaskClassifierTrainRequest>,
    ) -> Result<Response<jobs::TrainingJob>, Status> {
        let request_id = call::request_id(request.metadata());
        let principal = caller(&self.state, &request, &request_id)?;
        let json = classifier_request_json(request.into_inner());
        job_response(
            submit_classifier(&self.state, &principal, json, &request_id).await,
            &request_id,
        )
    }

    async fn text_generation_task_peft_prompt_tuning_train(
        &self,
        request: Request<train::TextGenerationTaskPeftPromptTuningTrainRequest>,
    ) -> Result<Response<jobs::TrainingJob>, Status> {
        let request_id = call::request_id(request.metadata());
        let principal = caller(&self.state, &request, &request_id)?;
        let json = prompt_tuning_request_json(request.into_inner());
        job_response(
            submit_prompt_tuning(&self.state, &principal, json, &request_id).await,
            &request_id,
        )
    }
}

#[tonic::async_trait]
impl TrainingManagement for TrainingGrpc {
    async fn get_training_status(
        &self,
        request: Request<jobs::TrainingInfoRequest>,
    ) -> Result<Response<jobs::TrainingStatusResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let principal = caller(&self.state, &request, &request_id)?;
        let training_id = request.into_inner().training_id;
        let status = principal
            .check_training(TrainingRight::Read)
            .and_then(|()| manager(&self.state))
            .and_then(|m| {
                m.status(&training_id, principal.viewer())
                    .map_err(ApiError::from)
            });
        match status {
            Ok(status) => Ok(Response::new(status_message(status))),
            Err(error) => Err(error.into_grpc_status(&request_id)),
        }
    }

    async fn cancel_training(
        &self,
        request: Request<jobs::TrainingInfoRequest>,
    ) -> Result<Response<jobs::TrainingStatusResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let principal = caller(&self.state, &request, &request_id)?;
        let training_id = request.into_inner().training_id;
        let allowed = principal
            .check_training(TrainingRight::Cancel)
            .and_then(|()| manager(&self.state));
        let status = match allowed {
            Ok(manager) => manager
                .cancel(&training_id, principal.viewer())
                .await
                .map_err(ApiError::from),
            Err(error) => Err(error),
        };
        match status {
            Ok(status) => Ok(Response::new(status_message(status))),
            Err(error) => Err(error.into_grpc_status(&request_id)),
        }
    }
}
