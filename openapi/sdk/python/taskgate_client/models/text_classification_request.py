from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.text_classification_parameters import TextClassificationParameters


T = TypeVar("T", bound="TextClassificationRequest")


@_attrs_define
class TextClassificationRequest:
    """Classify a text into labels.

    Example:
        {'inputs': 'I love this product!', 'model_id': 'sentiment'}

    Attributes:
        inputs (str):
        model_id (str): The model to run, as listed by `GET /info/models`.
        parameters (None | TextClassificationParameters | Unset):
    """

    inputs: str
    model_id: str
    parameters: None | TextClassificationParameters | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.text_classification_parameters import TextClassificationParameters

        inputs = self.inputs

        model_id = self.model_id

        parameters: dict[str, Any] | None | Unset
        if isinstance(self.parameters, Unset):
            parameters = UNSET
        elif isinstance(self.parameters, TextClassificationParameters):
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
        from ..models.text_classification_parameters import TextClassificationParameters

        d = dict(src_dict)
        inputs = d.pop("inputs")

        model_id = d.pop("model_id")

        def _parse_parameters(
            data: object,
        ) -> None | TextClassificationParameters | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                parameters_type_0 = TextClassificationParameters.from_dict(data)

                return parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TextClassificationParameters | Unset, data)

        parameters = _parse_parameters(d.pop("parameters", UNSET))

        text_classification_request = cls(
            inputs=inputs,
            model_id=model_id,
            parameters=parameters,
        )

        return text_classification_request
