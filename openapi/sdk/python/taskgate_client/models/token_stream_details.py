from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.finish_reason import FinishReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenStreamDetails")


@_attrs_define
class TokenStreamDetails:
    """Details sent with the last event of a stream (and with the first, for `input_token_count`).

    Attributes:
        finish_reason (FinishReason): Why generation stopped (mirrors TGIS `StopReason`); serialized by name.
        generated_tokens (int): Number of tokens generated so far. Example: 8.
        input_token_count (int):  Example: 12.
        seed (int | None | Unset):
    """

    finish_reason: FinishReason
    generated_tokens: int
    input_token_count: int
    seed: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        finish_reason = self.finish_reason.value

        generated_tokens = self.generated_tokens

        input_token_count = self.input_token_count

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "finish_reason": finish_reason,
                "generated_tokens": generated_tokens,
                "input_token_count": input_token_count,
            }
        )
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        finish_reason = FinishReason(d.pop("finish_reason"))

        generated_tokens = d.pop("generated_tokens")

        input_token_count = d.pop("input_token_count")

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        token_stream_details = cls(
            finish_reason=finish_reason,
            generated_tokens=generated_tokens,
            input_token_count=input_token_count,
            seed=seed,
        )

        token_stream_details.additional_properties = d
        return token_stream_details

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
