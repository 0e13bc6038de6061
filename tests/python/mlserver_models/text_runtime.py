"""Deterministic text models for MLServer, for tests/kserve_backend.rs.

Both take one BYTES input of shape [n] (any name) and answer typed tensors whose values the Rust
test recomputes on its own (tests/common/mlserver.rs), so nothing in the test is a copied
result. A request may name the outputs it wants; otherwise every output comes back, the
"main" one first, as a real runtime's would.
"""

import math

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput

DIMENSION = 8
POSITIVE = ("good", "great", "love")
NEGATIVE = ("bad", "awful", "hate")


def hash_embedding(text: str) -> list:
    """v[k] = 1 + sum of (i + 1) over UTF-8 bytes b_i with b_i % 8 == k, L2-normalised."""
    v = [1.0] * DIMENSION
    for i, b in enumerate(text.encode("utf-8")):
        v[b % DIMENSION] += i + 1
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def keyword_logits(text: str) -> list:
    """[negative, neutral, positive]: keyword counts, neutral fixed at 0.5."""
    words = text.lower().split()
    negative = sum(w.strip(".,!?") in NEGATIVE for w in words)
    positive = sum(w.strip(".,!?") in POSITIVE for w in words)
    return [float(negative), 0.5, float(positive)]


def softmax(row: list) -> list:
    top = max(row)
    e = [math.exp(x - top) for x in row]
    return [x / sum(e) for x in e]


class TextModel(MLModel):
    """Decodes the texts, computes every output, answers the requested ones."""

    def outputs(self, texts: list) -> dict:
        raise NotImplementedError

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        if len(payload.inputs) != 1 or payload.inputs[0].datatype != "BYTES":
            raise MLServerError("expected one BYTES input of shape [n]", status_code=400)
        if payload.inputs[0].name != "text":
            # Not an MLServerError: MLServer answers a plain-text HTTP 500 (gRPC UNKNOWN), as
            # for any bug in a runtime.
            raise KeyError(f"no input named {payload.inputs[0].name!r}")
        texts = StringCodec.decode_input(payload.inputs[0])
        outputs = self.outputs(texts)
        wanted = [o.name for o in payload.outputs or []] or list(outputs)
        unknown = [name for name in wanted if name not in outputs]
        if unknown:
            raise MLServerError(f"unknown output {unknown[0]!r}", status_code=400)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[encode(name, outputs[name]) for name in wanted],
        )


def encode(name, values):
    if isinstance(values, ResponseOutput):
        return values
    if isinstance(values, list):
        return StringCodec.encode_output(name, values)
    return NumpyCodec.encode_output(name, values)


class HashEmbed(TextModel):
    def outputs(self, texts):
        return {
            "embedding": np.array([hash_embedding(t) for t in texts], dtype=np.float32),
            # One number per text, shape [n] (NumpyCodec would say [n, 1]): UTF-8 length.
            "byte_length": ResponseOutput(
                name="byte_length",
                shape=[len(texts)],
                datatype="INT64",
                data=[len(t.encode("utf-8")) for t in texts],
            ),
            # A rank-3 tensor no text task can use.
            "grid": np.zeros((len(texts), 2, 4), dtype=np.int32),
        }


class KeywordSentiment(TextModel):
    def outputs(self, texts):
        logits = [keyword_logits(t) for t in texts]
        return {
            "probabilities": np.array([softmax(row) for row in logits], dtype=np.float32),
            "logits": np.array(logits, dtype=np.float64),
            "label": [["negative", "neutral", "positive"][row.index(max(row))] for row in logits],
        }
