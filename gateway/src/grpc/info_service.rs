//! `caikit.runtime.info.InfoService`: the same facts as `GET /info/version` and `/info/models`.

use tonic::{Request, Response, Status};

use super::call;
use super::pb::caikit::runtime::info::info_service_server::InfoService;
use super::pb::caikit_data_model::common::runtime as info;
use crate::error::ApiError;
use crate::state::AppState;

pub struct InfoGrpc {
    state: AppState,
}

impl InfoGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl InfoService for InfoGrpc {
    async fn get_runtime_info(
        &self,
        _request: Request<info::RuntimeInfoRequest>,
    ) -> Result<Response<info::RuntimeInfoResponse>, Status> {
        Ok(Response::new(self.state.runtime_info().into()))
    }

    async fn get_models_info(
        &self,
        request: Request<info::ModelInfoRequest>,
    ) -> Result<Response<info::ModelInfoResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let principal = call::authenticate(&self.state, &request)
            .map_err(|error| error.into_grpc_status(&request_id))?;
        let wanted = request.into_inner().model_ids;
        match self.state.models_info(&principal, &wanted) {
            Ok(models) => Ok(Response::new(info::ModelInfoResponse {
                models: models.models.into_iter().map(Into::into).collect(),
            })),
            Err(error) => Err(ApiError::from(error).into_grpc_status(&request_id)),
        }
    }
}
