//! OpenAI's generation parameters as the task API's (Caikit/TGIS) ones, and the task API's
//! answers back in OpenAI's terms. Every OpenAI parameter is mapped or refused by name.

use taskgate_modules::{Model, TaskError};
use taskgate_schemas::{DecodingMethod, GeneratedToken, TextGenerationParameters};

use super::generation_types::{CompletionFinishReason, Stop, TokenLogprob};
use crate::error::ApiError;

/// Below this temperature sampling is argmax in all but name, and the engines' sampler takes
/// no lower: such calls decode greedily.
const LOWEST_SAMPLING_TEMPERATURE: f64 = 0.05;

/// Most tokens a chat call generates by default when the model does not say its context
/// (remote models).
pub const DEFAULT_CHAT_MAX_TOKENS: u32 = 512;

/// OpenAI's limit on stop sequences.
const MAX_STOPS: usize = 4;

/// OpenAI's default for text completions.
pub const DEFAULT_COMPLETION_MAX_TOKENS: u32 = 16;

/// The OpenAI parameters a generation call takes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: Option<i64>,
    pub stop: Option<Stop>,
    pub n: Option<u32>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    /// Each token's log-probability.
    pub logprobs: bool,
    /// The prompt before the completion in the text.
    pub echo: bool,
}

fn refuse(field: &str, reason: impl Into<String>) -> ApiError {
    TaskError::invalid_field(field, reason).into()
}

/// The task API's parameters for `options`, or the first one taskgate cannot honour.
pub fn parameters(options: Options) -> Result<TextGenerationParameters, ApiError> {
    if let Some(n) = options.n
        && n != 1
    {
        return Err(refuse(
            "/n",
            format!("only 1 answer per request is supported (n = {n}); send n requests"),
        ));
    }
    for (field, value) in [
        ("presence_penalty", options.presence_penalty),
        ("frequency_penalty", options.frequency_penalty),
    ] {
        if let Some(value) = value
            && value != 0.0
        {
            return Err(refuse(
                &format!("/{field}"),
                format!(
                    "only 0 is supported ({value} given): taskgate's engines apply a \
                     multiplicative repetition penalty, not OpenAI's additive {field}"
                ),
            ));
        }
    }
    let temperature = options.temperature.unwrap_or(1.0);
    let top_p = options.top_p.unwrap_or(1.0);
    let greedy = temperature < LOWEST_SAMPLING_TEMPERATURE || top_p == 0.0;
    let mut parameters = TextGenerationParameters {
        max_new_tokens: options.max_tokens,
        // The seed's bits, so every 64-bit seed is a distinct one.
        seed: options.seed.map(|seed| seed as u64),
        ..Default::default()
    };
    if greedy {
        parameters.decoding_method = Some(DecodingMethod::Greedy);
    } else {
        parameters.decoding_method = Some(DecodingMethod::Sampling);
        parameters.temperature = (temperature != 1.0).then_some(temperature);
        parameters.top_p = (top_p < 1.0).then_some(top_p);
    }
    if let Some(stop) = options.stop {
        let stops = stop.into_vec();
        if stops.is_empty() || stops.len() > MAX_STOPS {
            return Err(refuse(
                "/stop",
                format!(
                    "give 1 to {MAX_STOPS} stop sequences ({} given)",
                    stops.len()
                ),
            ));
        }
        parameters.stop_sequences = Some(stops);
        // OpenAI's text ends before the stop sequence.
        parameters.include_stop_sequence = Some(false);
    }
    if options.logprobs {
        parameters.generated_tokens = Some(true);
        parameters.token_logprobs = Some(true);
    }
    if options.echo {
        parameters.preserve_input_text = Some(true);
    }
    Ok(parameters)
}

/// The most tokens a chat call may generate when it does not say: as many as `model`'s
/// context holds (generation stops with `length` when it is full).
pub fn default_max_tokens(model: &Model) -> u32 {
    model
        .info()
        .metadata
        .get("context_length")
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(DEFAULT_CHAT_MAX_TOKENS)
}

/// OpenAI's finish reason for the task API's (`None` while generation goes on).
pub fn finish_reason(reason: taskgate_schemas::FinishReason) -> Option<CompletionFinishReason> {
    use taskgate_schemas::FinishReason as Task;
    match reason {
        Task::NotFinished => None,
        Task::MaxTokens | Task::TokenLimit | Task::TimeLimit => {
            Some(CompletionFinishReason::Length)
        }
        Task::EosToken | Task::StopSequence | Task::Cancelled | Task::Error => {
            Some(CompletionFinishReason::Stop)
        }
    }
}

/// The token's text and log-probability, as OpenAI reports them.
pub fn token_logprob(token: &GeneratedToken) -> TokenLogprob {
    let bytes = token_bytes(&token.text);
    TokenLogprob {
        token: String::from_utf8_lossy(&bytes).into_owned(),
        logprob: token.logprob.unwrap_or(0.0),
        bytes,
        top_logprobs: Vec::new(),
    }
}

/// The bytes a vocabulary entry stands for. Byte-level BPE vocabularies (GPT-2's and its
/// descendants') spell each byte as a printable character (a space is `Ġ`); SentencePiece ones
/// write a space as `▁` and raw bytes as `<0xNN>`; anything else is its own UTF-8.
pub fn token_bytes(spelling: &str) -> Vec<u8> {
    if let Some(hex) = spelling
        .strip_prefix("<0x")
        .and_then(|rest| rest.strip_suffix('>'))
        && let Ok(byte) = u8::from_str_radix(hex, 16)
    {
        return vec![byte];
    }
    let byte_level: Option<Vec<u8>> = spelling.chars().map(byte_level_byte).collect();
    match byte_level {
        Some(bytes) if !spelling.is_empty() => bytes,
        _ => spelling.replace('\u{2581}', " ").into_bytes(),
    }
}

/// Whether byte `b` is one GPT-2's byte-level alphabet spells as itself.
fn printable(b: u32) -> bool {
    (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
}

/// The byte that `c` spells in GPT-2's byte-level alphabet, if it is one of its characters:
/// printable bytes as themselves, the other 68 bytes, in order, as U+0100 onwards.
fn byte_level_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if printable(code) {
        return Some(code as u8);
    }
    let index = code.checked_sub(0x100)?;
    (0u32..=255)
        .filter(|b| !printable(*b))
        .nth(index as usize)
        .map(|b| b as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_and_sentencepiece_spellings_decode() {
        assert_eq!(token_bytes("ĠParis"), b" Paris");
        assert_eq!(token_bytes("Ċ"), b"\n");
        assert_eq!(token_bytes("▁Paris"), b" Paris");
        assert_eq!(token_bytes("<0x0A>"), b"\n");
        assert_eq!(token_bytes("hello"), b"hello");
        // "é" in UTF-8 (0xC3 0xA9), byte-level spelled.
        assert_eq!(token_bytes("Ã©"), "é".as_bytes());
    }

    #[test]
    fn openai_sampling_maps_to_the_task_parameters() {
        let greedy = parameters(Options {
            temperature: Some(0.0),
            top_p: Some(0.5),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(greedy.decoding_method, Some(DecodingMethod::Greedy));
        assert_eq!(greedy.top_p, None);
        let default = parameters(Options::default()).unwrap();
        assert_eq!(default.decoding_method, Some(DecodingMethod::Sampling));
        assert_eq!(default.temperature, None);
        let sampled = parameters(Options {
            temperature: Some(0.7),
            seed: Some(-1),
            stop: Some(Stop::One("\n".into())),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(sampled.temperature, Some(0.7));
        assert_eq!(sampled.seed, Some(u64::MAX));
        assert_eq!(sampled.stop_sequences, Some(vec!["\n".to_string()]));
        assert_eq!(sampled.include_stop_sequence, Some(false));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        for (options, field) in [
            (
                Options {
                    n: Some(2),
                    ..Default::default()
                },
                "/n",
            ),
            (
                Options {
                    presence_penalty: Some(0.5),
                    ..Default::default()
                },
                "/presence_penalty",
            ),
            (
                Options {
                    frequency_penalty: Some(-1.0),
                    ..Default::default()
                },
                "/frequency_penalty",
            ),
        ] {
            let Err(ApiError::Task(TaskError::InvalidArgument { fields, .. })) =
                parameters(options)
            else {
                panic!("{field} was not refused")
            };
            assert_eq!(fields[0].path, field);
        }
    }
}
