from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenClassificationParameters")


@_attrs_define
class TokenClassificationParameters:
    """Optional token-classification parameters.

    Attributes:
        threshold (float | None | Unset): Drop spans scoring below this value. Example: 0.5.
    """

    threshold: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        threshold: float | None | Unset
        if isinstance(self.threshold, Unset):
            threshold = UNSET
        else:
            threshold = self.threshold

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if threshold is not UNSET:
            field_dict["threshold"] = threshold

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_threshold(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        threshold = _parse_threshold(d.pop("threshold", UNSET))

        token_classification_parameters = cls(
            threshold=threshold,
        )

        return token_classification_parameters
