from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.token_classification_parameters import TokenClassificationParameters


T = TypeVar("T", bound="TokenClassificationRequest")


@_attrs_define
class TokenClassificationRequest:
    """Find entity spans in a text.

    Example:
        {'inputs': 'Mail ana@example.com or call +1 415 555 0100', 'model_id': 'pii-rules'}

    Attributes:
        inputs (str):
        model_id (str): The model to run, as listed by `GET /info/models`.
        parameters (None | TokenClassificationParameters | Unset):
    """

    inputs: str
    model_id: str
    parameters: None | TokenClassificationParameters | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.token_classification_parameters import (
            TokenClassificationParameters,
        )

        inputs = self.inputs

        model_id = self.model_id

        parameters: dict[str, Any] | None | Unset
        if isinstance(self.parameters, Unset):
            parameters = UNSET
        elif isinstance(self.parameters, TokenClassificationParameters):
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
        from ..models.token_classification_parameters import (
            TokenClassificationParameters,
        )

        d = dict(src_dict)
        inputs = d.pop("inputs")

        model_id = d.pop("model_id")

        def _parse_parameters(
            data: object,
        ) -> None | TokenClassificationParameters | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                parameters_type_0 = TokenClassificationParameters.from_dict(data)

                return parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenClassificationParameters | Unset, data)

        parameters = _parse_parameters(d.pop("parameters", UNSET))

        token_classification_request = cls(
            inputs=inputs,
            model_id=model_id,
            parameters=parameters,
        )

        return token_classification_request
