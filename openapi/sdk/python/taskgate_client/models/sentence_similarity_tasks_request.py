from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.embedding_parameters import EmbeddingParameters
    from ..models.sentence_similarity_tasks_inputs import SentenceSimilarityTasksInputs


T = TypeVar("T", bound="SentenceSimilarityTasksRequest")


@_attrs_define
class SentenceSimilarityTasksRequest:
    """Score several source sentences against sentences.

    Example:
        {'inputs': {'sentences': ['Someone is playing an acoustic guitar.'], 'source_sentences': ['A man is playing a
            guitar.']}, 'model_id': 'all-minilm'}

    Attributes:
        inputs (SentenceSimilarityTasksInputs): Inputs of `sentence-similarity-tasks`.
        model_id (str): The model to run, as listed by `GET /info/models`.
        parameters (EmbeddingParameters | None | Unset):
    """

    inputs: SentenceSimilarityTasksInputs
    model_id: str
    parameters: EmbeddingParameters | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.embedding_parameters import EmbeddingParameters

        inputs = self.inputs.to_dict()

        model_id = self.model_id

        parameters: dict[str, Any] | None | Unset
        if isinstance(self.parameters, Unset):
            parameters = UNSET
        elif isinstance(self.parameters, EmbeddingParameters):
            parameters = self.parameters.to_dict()
        else:
            parameters = self.parameters

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "model_id": model_id,
            }
        )
        if parameters is not UNSET:
            field_dict["parameters"] = parameters

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.embedding_parameters import EmbeddingParameters
        from ..models.sentence_similarity_tasks_inputs import (
            SentenceSimilarityTasksInputs,
        )

        d = dict(src_dict)
        inputs = SentenceSimilarityTasksInputs.from_dict(d.pop("inputs"))

        model_id = d.pop("model_id")

        def _parse_parameters(data: object) -> EmbeddingParameters | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                parameters_type_0 = EmbeddingParameters.from_dict(data)

                return parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EmbeddingParameters | None | Unset, data)

        parameters = _parse_parameters(d.pop("parameters", UNSET))

        sentence_similarity_tasks_request = cls(
            inputs=inputs,
            model_id=model_id,
            parameters=parameters,
        )

        return sentence_similarity_tasks_request
