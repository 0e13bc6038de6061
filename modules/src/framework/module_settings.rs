//! Every module's settings, tagged by module name (a model's `module:` and `config:`), and
//! every remote backend's, tagged by `kind` (a model's `backend:`).

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema};

use crate::framework::settings::{Settings, SettingsError, parse};
use crate::local::encoder_settings::EncoderSettings;
use crate::local::pii_rules::PiiRulesSettings;
use crate::local::text_generation::TextGenerationSettings;
use crate::local::token_classifier::TokenClassifierSettings;
use crate::remote::kserve::KserveSettings;
use crate::remote::openai::OpenAiSettings;
use crate::remote::settings::RemoteSettings;
use crate::remote::tei::TeiSettings;

/// Declares [`ModuleSettings`] from one list of `name => Variant(Settings type)`.
macro_rules! modules {
    ($($name:literal => $variant:ident($settings:ty),)*) => {
        /// The settings of the module serving a model, which also say which module that is.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ModuleSettings {
            $($variant($settings),)*
        }

        impl ModuleSettings {
            /// The names of every module, as configs write them.
            pub const NAMES: &[&str] = &[$($name),*];

            /// `config` read as the settings of `module`; `None` when no module has that name.
            pub fn parse(module: &str, config: Value) -> Option<Result<Self, SettingsError>> {
                match module {
                    $($name => Some(parse::<$settings>(config).map(Self::$variant)),)*
                    _ => None,
                }
            }

            /// The module's name.
            pub fn module(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)*
                }
            }

            /// `(module, schema of its config, the schemas that one refers to)` per module.
            pub(crate) fn schemas() -> Vec<(&'static str, Object, Vec<(String, RefOr<Schema>)>)> {
                vec![$({
                    let mut referenced = Vec::new();
                    <$settings as Settings>::referenced(&mut referenced);
                    ($name, <$settings as Settings>::object(), referenced)
                },)*]
            }
        }
    };
}

modules! {
    "kserve-v2" => KserveV2(KserveSettings),
    "openai" => Openai(OpenAiSettings),
    "pii-rules" => PiiRules(PiiRulesSettings),
    "sentence-embeddings" => SentenceEmbeddings(EncoderSettings),
    "tei" => Tei(TeiSettings),
    "text-classifier" => TextClassifier(EncoderSettings),
    "text-generation" => TextGeneration(TextGenerationSettings),
    "tgis" => Tgis(RemoteSettings),
    "token-classifier" => TokenClassifier(TokenClassifierSettings),
}

impl ModuleSettings {
    /// The files an in-process module was told to load, when its settings name them (a
    /// model found in the models directory has its directory instead).
    pub fn files(&self) -> Option<&std::path::Path> {
        match self {
            Self::SentenceEmbeddings(s) | Self::TextClassifier(s) => s.path.as_deref(),
            Self::TokenClassifier(s) => s.common.path.as_deref(),
            Self::TextGeneration(s) => s.path.as_deref(),
            Self::PiiRules(_)
            | Self::KserveV2(_)
            | Self::Openai(_)
            | Self::Tei(_)
            | Self::Tgis(_) => None,
        }
    }

    /// Where the model runs, as listings name it before it is built: `candle`, `rules`, or
    /// the remote runtime's kind.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::SentenceEmbeddings(_)
            | Self::TextClassifier(_)
            | Self::TokenClassifier(_)
            | Self::TextGeneration(_) => "candle",
            Self::PiiRules(_) => "rules",
            Self::KserveV2(_) => "kserve-v2",
            Self::Openai(_) => "openai",
            Self::Tei(_) => "tei",
            Self::Tgis(_) => "tgis",
        }
    }
}

/// The remote protocols taskgate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// OpenAI-compatible HTTP (vLLM, llama.cpp, llama-cpp-python, TGI's OpenAI routes):
    /// completions or chat completions (streamed as SSE), or embeddings.
    Openai,
    /// IBM TGIS, `fmaas.GenerationService` over gRPC.
    Tgis,
    /// The KServe Open Inference Protocol v2 (KServe, Seldon MLServer, Triton), REST or gRPC:
    /// embeddings or text classification from a model taking a BYTES tensor of texts.
    KserveV2,
    /// Hugging Face Text Embeddings Inference over HTTP: embeddings, sequence classification
    /// or reranking (by `task`), and tokenization.
    Tei,
}

impl BackendKind {
    pub const ALL: [BackendKind; 4] = [Self::Openai, Self::Tgis, Self::KserveV2, Self::Tei];

    /// The name configs write (`kind: <name>`), which is also the module serving it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Tgis => "tgis",
            Self::KserveV2 => "kserve-v2",
            Self::Tei => "tei",
        }
    }
}

/// `backend:` — a model served by a remote runtime: which protocol (`kind`), where, how long
/// to wait, and the protocol's own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendSettings {
    Openai(OpenAiSettings),
    Tgis(RemoteSettings),
    KserveV2(KserveSettings),
    Tei(TeiSettings),
}

impl BackendSettings {
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::Openai(_) => BackendKind::Openai,
            Self::Tgis(_) => BackendKind::Tgis,
            Self::KserveV2(_) => BackendKind::KserveV2,
            Self::Tei(_) => BackendKind::Tei,
        }
    }

    /// A `backend:` map: its `kind`, and the other keys read as that kind's settings.
    pub fn from_value(backend: Value) -> Result<Self, SettingsError> {
        let Value::Object(mut map) = backend else {
            return Err(SettingsError::new("", "expected a map"));
        };
        let names: Vec<&str> = BackendKind::ALL.iter().map(|k| k.as_str()).collect();
        let kind = map
            .remove("kind")
            .and_then(|kind| BackendKind::deserialize(kind).ok())
            .ok_or_else(|| {
                SettingsError::new("kind", format!("required: one of {}", names.join(", ")))
            })?;
        let rest = Value::Object(map);
        Ok(match kind {
            BackendKind::Openai => Self::Openai(parse(rest)?),
            BackendKind::Tgis => Self::Tgis(parse(rest)?),
            BackendKind::KserveV2 => Self::KserveV2(parse(rest)?),
            BackendKind::Tei => Self::Tei(parse(rest)?),
        })
    }

    /// The module that talks this protocol, with these settings.
    pub fn into_module(self) -> ModuleSettings {
        match self {
            Self::Openai(s) => ModuleSettings::Openai(s),
            Self::Tgis(s) => ModuleSettings::Tgis(s),
            Self::KserveV2(s) => ModuleSettings::KserveV2(s),
            Self::Tei(s) => ModuleSettings::Tei(s),
        }
    }
}

impl<'de> Deserialize<'de> for BackendSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl BackendKind {
    /// The schema of this kind's settings (every key but `kind`), and the named schemas it
    /// refers to.
    pub(crate) fn settings_schema(self) -> (Object, Vec<(String, RefOr<Schema>)>) {
        fn of<S: Settings>() -> (Object, Vec<(String, RefOr<Schema>)>) {
            let mut referenced = Vec::new();
            S::referenced(&mut referenced);
            (S::object(), referenced)
        }
        match self {
            Self::Openai => of::<OpenAiSettings>(),
            Self::Tgis => of::<RemoteSettings>(),
            Self::KserveV2 => of::<KserveSettings>(),
            Self::Tei => of::<TeiSettings>(),
        }
    }
}
