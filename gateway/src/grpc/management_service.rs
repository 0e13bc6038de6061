//! `caikit.runtime.models.ModelManagement`: Caikit's `DeployModel` (the model's files) and
//! `UndeployModel`, the same operations as `/management/models`, with the `admin` scope.

use tonic::{Request, Response, Status};

use super::call;
use super::pb::caikit::runtime::models::model_management_server::ModelManagement;
use super::pb::caikit_data_model::common::runtime as info;
use super::pb::caikit_data_model::runtime as pb;
use crate::error::ApiError;
use crate::state::AppState;

pub struct ManagementGrpc {
    state: AppState,
}

impl ManagementGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The admin caller, and the management the state offers.
    fn admit<T>(&self, request: &Request<T>) -> Result<&crate::management::Management, ApiError> {
        let principal = call::authenticate(&self.state, request)?;
        principal.check_admin()?;
        self.state
            .management()
            .ok_or_else(|| ApiError::RouteNotFound {
                method: "gRPC".into(),
                path: "caikit.runtime.models.ModelManagement".into(),
            })
    }
}

#[tonic::async_trait]
impl ModelManagement for ManagementGrpc {
    async fn deploy_model(
        &self,
        request: Request<pb::DeployModelRequest>,
    ) -> Result<Response<info::ModelInfo>, Status> {
        let request_id = call::request_id(request.metadata());
        let result = async {
            let management = self.admit(&request)?;
            let message = request.into_inner();
            let files = message
                .model_files
                .into_iter()
                .map(|file| (file.filename.unwrap_or_default(), file.data))
                .collect();
            management.deploy_files(message.model_id, files).await
        }
        .await;
        result
            .map(|info| Response::new(info.into()))
            .map_err(|error| error.into_grpc_status(&request_id))
    }

    async fn undeploy_model(
        &self,
        request: Request<pb::UndeployModelRequest>,
    ) -> Result<Response<pb::UndeployModelRequest>, Status> {
        let request_id = call::request_id(request.metadata());
        let result = async {
            let management = self.admit(&request)?;
            let model_id = request.into_inner().model_id;
            management.undeploy(&model_id).await
        }
        .await;
        result
            .map(|answer| {
                Response::new(pb::UndeployModelRequest {
                    model_id: answer.model_id,
                })
            })
            .map_err(|error| error.into_grpc_status(&request_id))
    }
}
