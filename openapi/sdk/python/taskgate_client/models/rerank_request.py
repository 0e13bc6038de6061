from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.rerank_inputs import RerankInputs
    from ..models.rerank_parameters import RerankParameters


T = TypeVar("T", bound="RerankRequest")


@_attrs_define
class RerankRequest:
    """Rank documents by relevance to a query.

    Example:
        {'inputs': {'documents': [{'text': 'Paris is the capital of France.'}, {'text': 'Berlin is in Germany.'}],
            'query': 'capital of France'}, 'model_id': 'all-minilm', 'parameters': {'top_n': 1}}

    Attributes:
        inputs (RerankInputs): Inputs of `rerank`.
        model_id (str): The model to run, as listed by `GET /info/models`.
        parameters (None | RerankParameters | Unset):
    """

    inputs: RerankInputs
    model_id: str
    parameters: None | RerankParameters | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.rerank_parameters import RerankParameters

        inputs = self.inputs.to_dict()

        model_id = self.model_id

        parameters: dict[str, Any] | None | Unset
        if isinstance(self.parameters, Unset):
            parameters = UNSET
        elif isinstance(self.parameters, RerankParameters):
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
        from ..models.rerank_inputs import RerankInputs
        from ..models.rerank_parameters import RerankParameters

        d = dict(src_dict)
        inputs = RerankInputs.from_dict(d.pop("inputs"))

        model_id = d.pop("model_id")

        def _parse_parameters(data: object) -> None | RerankParameters | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                parameters_type_0 = RerankParameters.from_dict(data)

                return parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RerankParameters | Unset, data)

        parameters = _parse_parameters(d.pop("parameters", UNSET))

        rerank_request = cls(
            inputs=inputs,
            model_id=model_id,
            parameters=parameters,
        )

        return rerank_request
