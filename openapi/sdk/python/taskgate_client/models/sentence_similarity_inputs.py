from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="SentenceSimilarityInputs")


@_attrs_define
class SentenceSimilarityInputs:
    """Inputs of `sentence-similarity`.

    Attributes:
        sentences (list[str]): At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
        source_sentence (str):
    """

    sentences: list[str]
    source_sentence: str

    def to_dict(self) -> dict[str, Any]:
        sentences = self.sentences

        source_sentence = self.source_sentence

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "sentences": sentences,
                "source_sentence": source_sentence,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        sentences = cast(list[str], d.pop("sentences"))

        source_sentence = d.pop("source_sentence")

        sentence_similarity_inputs = cls(
            sentences=sentences,
            source_sentence=source_sentence,
        )

        return sentence_similarity_inputs
