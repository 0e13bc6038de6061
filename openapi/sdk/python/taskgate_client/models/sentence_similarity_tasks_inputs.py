from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="SentenceSimilarityTasksInputs")


@_attrs_define
class SentenceSimilarityTasksInputs:
    """Inputs of `sentence-similarity-tasks`.

    Attributes:
        sentences (list[str]): At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
        source_sentences (list[str]): At most the model's `max_client_batch_size` texts (its metadata in `GET
            /info/models`).
    """

    sentences: list[str]
    source_sentences: list[str]

    def to_dict(self) -> dict[str, Any]:
        sentences = self.sentences

        source_sentences = self.source_sentences

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "sentences": sentences,
                "source_sentences": source_sentences,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        sentences = cast(list[str], d.pop("sentences"))

        source_sentences = cast(list[str], d.pop("source_sentences"))

        sentence_similarity_tasks_inputs = cls(
            sentences=sentences,
            source_sentences=source_sentences,
        )

        return sentence_similarity_tasks_inputs
