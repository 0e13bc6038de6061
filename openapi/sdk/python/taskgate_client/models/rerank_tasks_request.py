from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.rerank_tasks_inputs import RerankTasksInputs
    from ..models.rerank_tasks_parameters import RerankTasksParameters


T = TypeVar("T", bound="RerankTasksRequest")


@_attrs_define
class RerankTasksRequest:
    """Rank documents by relevance to each of several queries.

    Example:
        {'inputs': {'documents': [{'text': 'Paris is the capital of France.'}], 'queries': ['capital of France']},
            'model_id': 'all-minilm'}

    Attributes:
        inputs (RerankTasksInputs): Inputs of `rerank-tasks`.
        model_id (str): The model to run, as listed by `GET /info/models`.
        parameters (None | RerankTasksParameters | Unset):
    """

    inputs: RerankTasksInputs
    model_id: str
    parameters: None | RerankTasksParameters | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.rerank_tasks_parameters import RerankTasksParameters

        inputs = self.inputs.to_dict()

        model_id = self.model_id

        parameters: dict[str, Any] | None | Unset
        if isinstance(self.parameters, Unset):
            parameters = UNSET
        elif isinstance(self.parameters, RerankTasksParameters):
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
        from ..models.rerank_tasks_inputs import RerankTasksInputs
        from ..models.rerank_tasks_parameters import RerankTasksParameters

        d = dict(src_dict)
        inputs = RerankTasksInputs.from_dict(d.pop("inputs"))

        model_id = d.pop("model_id")

        def _parse_parameters(data: object) -> None | RerankTasksParameters | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                parameters_type_0 = RerankTasksParameters.from_dict(data)

                return parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RerankTasksParameters | Unset, data)

        parameters = _parse_parameters(d.pop("parameters", UNSET))

        rerank_tasks_request = cls(
            inputs=inputs,
            model_id=model_id,
            parameters=parameters,
        )

        return rerank_tasks_request
