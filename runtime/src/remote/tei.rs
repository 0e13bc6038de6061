//! A client of Hugging Face Text Embeddings Inference (TEI) over HTTP: `/embed`, `/predict`,
//! `/rerank` and `/tokenize`, always in their batch forms so every answer has one shape. Each
//! answer is checked against what was asked (one result per input, indices in range) before
//! it reaches a caller; the tokens TEI counted come from its `x-compute-tokens` header.

use serde::Deserialize;
use serde_json::json;

use super::http::HttpRemote;
use super::{Forwarded, RemoteClient, RemoteEndpoint};
use crate::error::{RemoteFailure, RuntimeError};
use crate::remote::resilience::Resilience;

/// The header in which TEI reports the tokens a call used.
const TOKENS_HEADER: &str = "x-compute-tokens";

/// An answer and the input tokens TEI counted for it (0 when it did not say).
#[derive(Debug, Clone, PartialEq)]
pub struct Counted<T> {
    pub value: T,
    pub tokens: u64,
}

/// One class score from `/predict`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Prediction {
    pub label: String,
    pub score: f32,
}

#[derive(Debug, Deserialize)]
struct Rank {
    index: usize,
    score: f32,
}

#[derive(Debug, Deserialize)]
struct SimpleToken {
    special: bool,
    start: Option<usize>,
    stop: Option<usize>,
}

/// A text's tokens: code-point spans, `(0, 0)` for the special tokens TEI added.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokenized {
    pub offsets: Vec<(usize, usize)>,
}

pub struct TeiClient {
    http: HttpRemote,
}

impl TeiClient {
    pub fn new(endpoint: RemoteEndpoint) -> Result<Self, RuntimeError> {
        Ok(Self {
            http: HttpRemote::new("TEI", endpoint)?,
        })
    }

    fn failed(&self, message: impl Into<String>) -> RuntimeError {
        self.http.error(RemoteFailure::Failed, message)
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        forwarded: &Forwarded,
    ) -> Result<Counted<T>, RuntimeError> {
        let (value, tokens) = self
            .http
            .post_json_with_header(path, body, TOKENS_HEADER, forwarded)
            .await?;
        let tokens = match tokens {
            None => 0,
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| self.failed(format!("{TOKENS_HEADER} is not a count: '{text}'")))?,
        };
        Ok(Counted { value, tokens })
    }

    /// One vector per input, in order. `truncate`: cut inputs to the model's limit instead of
    /// refusing them.
    pub async fn embed(
        &self,
        inputs: &[String],
        normalize: bool,
        truncate: bool,
        forwarded: &Forwarded,
    ) -> Result<Counted<Vec<Vec<f32>>>, RuntimeError> {
        let body = json!({"inputs": inputs, "normalize": normalize, "truncate": truncate});
        let answer: Counted<Vec<Vec<f32>>> = self.post("/embed", &body, forwarded).await?;
        self.check_count("embeddings", answer.value.len(), inputs.len())?;
        let width = answer.value.first().map_or(0, Vec::len);
        if width == 0 || answer.value.iter().any(|v| v.len() != width) {
            return Err(self.failed("embeddings of different or zero lengths"));
        }
        Ok(answer)
    }

    /// The class scores (probabilities, not raw logits) of each input, in TEI's order.
    pub async fn predict(
        &self,
        inputs: &[String],
        truncate: bool,
        forwarded: &Forwarded,
    ) -> Result<Counted<Vec<Vec<Prediction>>>, RuntimeError> {
        // `[[text], ...]` is the batch form, whose answer is a list per input even for one.
        let batch: Vec<[&String; 1]> = inputs.iter().map(|text| [text]).collect();
        let body = json!({"inputs": batch, "raw_scores": false, "truncate": truncate});
        let answer: Counted<Vec<Vec<Prediction>>> = self.post("/predict", &body, forwarded).await?;
        self.check_count("predictions", answer.value.len(), inputs.len())?;
        if answer.value.iter().any(Vec::is_empty) {
            return Err(self.failed("a prediction without class scores"));
        }
        Ok(answer)
    }

    /// The cross-encoder score of `query` with each text, in the texts' order.
    pub async fn rerank(
        &self,
        query: &str,
        texts: &[String],
        truncate: bool,
        forwarded: &Forwarded,
    ) -> Result<Counted<Vec<f32>>, RuntimeError> {
        let body = json!({"query": query, "texts": texts, "raw_scores": false,
            "return_text": false, "truncate": truncate});
        let answer: Counted<Vec<Rank>> = self.post("/rerank", &body, forwarded).await?;
        self.check_count("ranks", answer.value.len(), texts.len())?;
        // TEI answers best first; each score goes back to the text it belongs to.
        let mut scores = vec![None; texts.len()];
        for rank in &answer.value {
            let slot = scores.get_mut(rank.index).ok_or_else(|| {
                self.failed(format!("index {} for {} texts", rank.index, texts.len()))
            })?;
            if slot.replace(rank.score).is_some() {
                return Err(self.failed(format!("index {} ranked twice", rank.index)));
            }
        }
        Ok(Counted {
            value: scores.into_iter().flatten().collect(),
            tokens: answer.tokens,
        })
    }

    /// The tokens of `text` with the model's special tokens, as code-point spans.
    pub async fn tokenize(
        &self,
        text: &str,
        forwarded: &Forwarded,
    ) -> Result<Tokenized, RuntimeError> {
        let body = json!({"inputs": [text], "add_special_tokens": true});
        let answer: Counted<Vec<Vec<SimpleToken>>> =
            self.post("/tokenize", &body, forwarded).await?;
        self.check_count("token lists", answer.value.len(), 1)?;
        let offsets = answer.value[0]
            .iter()
            .map(|token| char_span(text, token))
            .collect::<Result<_, _>>()
            .map_err(|e| self.failed(e))?;
        Ok(Tokenized { offsets })
    }

    /// Is TEI up and its model loaded (`/health`)?
    pub async fn health(&self) -> Result<(), RuntimeError> {
        self.http.probe_path("/health").await
    }

    fn check_count(&self, what: &str, got: usize, sent: usize) -> Result<(), RuntimeError> {
        if got == sent {
            return Ok(());
        }
        Err(self.failed(format!("{got} {what} for {sent} inputs")))
    }
}

impl RemoteClient for TeiClient {
    fn name(&self) -> &str {
        self.http.name()
    }

    fn resilience(&self) -> &Resilience {
        self.http.resilience()
    }

    /// TEI's `/health`: up, with its model loaded.
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.health())
    }
}

/// TEI's byte offsets as code points, which is how Caikit counts. Special tokens have none.
fn char_span(text: &str, token: &SimpleToken) -> Result<(usize, usize), String> {
    let (start, stop) = match (token.start, token.stop) {
        (Some(start), Some(stop)) => (start, stop),
        _ if token.special => return Ok((0, 0)),
        _ => return Err("a non-special token without offsets".into()),
    };
    if start > stop || !text.is_char_boundary(start) || !text.is_char_boundary(stop) {
        return Err(format!(
            "token bytes {start}..{stop} are not a span of the {}-byte text",
            text.len()
        ));
    }
    let start_char = text[..start].chars().count();
    Ok((start_char, start_char + text[start..stop].chars().count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(special: bool, start: Option<usize>, stop: Option<usize>) -> SimpleToken {
        SimpleToken {
            special,
            start,
            stop,
        }
    }

    #[test]
    fn byte_offsets_become_code_points_and_bad_ones_are_refused() {
        let text = "héllo 🙂 x";
        assert_eq!(char_span(text, &token(false, Some(0), Some(6))), Ok((0, 5)));
        assert_eq!(
            char_span(text, &token(false, Some(7), Some(11))),
            Ok((6, 7))
        );
        assert_eq!(char_span(text, &token(true, None, None)), Ok((0, 0)));
        for (start, stop) in [(0, 2), (8, 11), (12, 40), (5, 3)] {
            let error = char_span(text, &token(false, Some(start), Some(stop))).unwrap_err();
            assert!(error.contains("13-byte text"), "{error}");
        }
        assert!(char_span(text, &token(false, None, None)).is_err());
    }
}
