//! `caikit.runtime.Nlp.NlpTrainingService` and `caikit.runtime.training.TrainingManagement`:
//! train requests convert to their REST form and take the same checks; statuses are the REST
//! ones with proto timestamps and states.

use serde_json::{Map, Value, json};
use taskgate_schemas::{TrainingProgress, TrainingState, TrainingStatusResponse};
use tonic::{Request, Response, Status};

use super::call;
use super::pb::caikit::runtime::nlp as train;
use super::pb::caikit::runtime::nlp::data_stream_source_classification_train_record::DataStream;
use super::pb::caikit::runtime::nlp::nlp_training_service_server::NlpTrainingService;
use super::pb::caikit::runtime::training::training_management_server::TrainingManagement;
use super::pb::caikit_data_model::common::TrainingStatus;
use super::pb::caikit_data_model::runtime as jobs;
use crate::app::AppState;
use crate::error::ApiError;
use crate::training_routes::{manager, submit_classifier};

pub struct TrainingGrpc {
    state: AppState,
}

impl TrainingGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn stream_json(source: train::DataStreamSourceClassificationTrainRecord) -> Value {
    let stream = match source.data_stream {
        Some(DataStream::Jsondata(inline)) => {
            let data: Vec<Value> = inline
                .data
                .into_iter()
                .map(|r| json!({"text": r.text, "labels": r.labels}))
                .collect();
            json!({"data": data})
        }
        Some(DataStream::File(file)) => json!({"file": {"filename": file.filename}}),
        // Fails the schema, which names the field.
        None => json!({}),
    };
    json!({ "data_stream": stream })
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
        let optional = [
            ("validation_split", p.validation_split.map(Value::from)),
            ("num_epochs", p.num_epochs.map(Value::from)),
            ("learning_rate", p.learning_rate.map(Value::from)),
            ("batch_size", p.batch_size.map(Value::from)),
            ("seed", p.seed.map(Value::from)),
            ("multi_label", p.multi_label.map(Value::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                parameters.insert(key.into(), value);
            }
        }
    }
    json!({"model_name": request.model_name, "parameters": parameters})
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
        let json = classifier_request_json(request.into_inner());
        match submit_classifier(&self.state, json, &request_id).await {
            Ok(job) => Ok(Response::new(jobs::TrainingJob {
                training_id: job.training_id,
                model_name: job.model_name,
            })),
            Err(error) => Err(error.into_grpc_status(&request_id)),
        }
    }
}

#[tonic::async_trait]
impl TrainingManagement for TrainingGrpc {
    async fn get_training_status(
        &self,
        request: Request<jobs::TrainingInfoRequest>,
    ) -> Result<Response<jobs::TrainingStatusResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let training_id = request.into_inner().training_id;
        let status =
            manager(&self.state).and_then(|m| m.status(&training_id).map_err(ApiError::from));
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
        let training_id = request.into_inner().training_id;
        let status = match manager(&self.state) {
            Ok(manager) => manager.cancel(&training_id).await.map_err(ApiError::from),
            Err(error) => Err(error),
        };
        match status {
            Ok(status) => Ok(Response::new(status_message(status))),
            Err(error) => Err(error.into_grpc_status(&request_id)),
        }
    }
}
