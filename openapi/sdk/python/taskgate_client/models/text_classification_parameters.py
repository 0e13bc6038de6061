from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TextClassificationParameters")


@_attrs_define
class TextClassificationParameters:
    """Optional text-classification parameters.

    Attributes:
        truncate_input_tokens (int | None | Unset): Keep only the first N input tokens; 0 (default) rejects inputs
            longer than the model allows. Example: 0.
    """

    truncate_input_tokens: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        truncate_input_tokens: int | None | Unset
        if isinstance(self.truncate_input_tokens, Unset):
            truncate_input_tokens = UNSET
        else:
            truncate_input_tokens = self.truncate_input_tokens

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if truncate_input_tokens is not UNSET:
            field_dict["truncate_input_tokens"] = truncate_input_tokens

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_truncate_input_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        truncate_input_tokens = _parse_truncate_input_tokens(
            d.pop("truncate_input_tokens", UNSET)
        )

        text_classification_parameters = cls(
            truncate_input_tokens=truncate_input_tokens,
        )

        return text_classification_parameters
