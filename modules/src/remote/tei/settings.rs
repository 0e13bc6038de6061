//! The `tei` backend's settings: the remote settings every backend shares, plus the kind of
//! model the TEI server runs and how many texts one call may send.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::framework::settings::{Flat, struct_settings};
use crate::remote::settings::RemoteSettings;

/// `tei` settings: [`RemoteSettings`] and [`TeiOptions`] side by side.
pub type TeiSettings = Flat<RemoteSettings, TeiOptions>;

/// A model on Hugging Face Text Embeddings Inference: the kind of model it runs and how many
/// texts a call may send, besides the remote settings every backend shares.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeiOptions {
    /// Required: the kind of model the TEI server runs.
    #[serde(default)]
    #[schema(required = true)]
    pub task: Option<TeiTask>,
    /// Most texts one call may send (default 32, TEI's own default); longer lists are
    /// refused with 400 naming the field.
    #[serde(default)]
    #[schema(minimum = 1, example = 32)]
    pub max_client_batch_size: Option<u64>,
    /// `task: embeddings` only: L2-normalize the embeddings (default true).
    #[serde(default, deserialize_with = "crate::framework::settings::flag")]
    pub normalize: Option<bool>,
}

struct_settings!(TeiOptions);

/// The kind of model a TEI server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TeiTask {
    /// The embedding tasks (embeddings, sentence similarity, rerank by cosine) through `/embed`.
    Embeddings,
    /// `text-classification` through `/predict`.
    TextClassification,
    /// `rerank` and `rerank-tasks` with a cross-encoder, through `/rerank`.
    Rerank,
}

impl TeiTask {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::TextClassification => "text-classification",
            Self::Rerank => "rerank",
        }
    }
}
