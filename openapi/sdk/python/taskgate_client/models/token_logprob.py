from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.token_logprob_top_logprobs_item import TokenLogprobTopLogprobsItem


T = TypeVar("T", bound="TokenLogprob")


@_attrs_define
class TokenLogprob:
    """One generated token with its log-probability.

    Attributes:
        bytes_ (list[int]): The token's UTF-8 bytes. Example: [32, 80, 97, 114, 105, 115].
        logprob (float):  Example: -0.21.
        token (str): The token's text (it may be part of a character; `bytes` are exact). Example:  Paris.
        top_logprobs (list[TokenLogprobTopLogprobsItem]): Always empty: the engines report the chosen token only.
    """

    bytes_: list[int]
    logprob: float
    token: str
    top_logprobs: list[TokenLogprobTopLogprobsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_ = self.bytes_

        logprob = self.logprob

        token = self.token

        top_logprobs = []
        for top_logprobs_item_data in self.top_logprobs:
            top_logprobs_item = top_logprobs_item_data.to_dict()
            top_logprobs.append(top_logprobs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "logprob": logprob,
                "token": token,
                "top_logprobs": top_logprobs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.token_logprob_top_logprobs_item import TokenLogprobTopLogprobsItem

        d = dict(src_dict)
        bytes_ = cast(list[int], d.pop("bytes"))

        logprob = d.pop("logprob")

        token = d.pop("token")

        top_logprobs = []
        _top_logprobs = d.pop("top_logprobs")
        for top_logprobs_item_data in _top_logprobs:
            top_logprobs_item = TokenLogprobTopLogprobsItem.from_dict(
                top_logprobs_item_data
            )

            top_logprobs.append(top_logprobs_item)

        token_logprob = cls(
            bytes_=bytes_,
            logprob=logprob,
            token=token,
            top_logprobs=top_logprobs,
        )

        token_logprob.additional_properties = d
        return token_logprob

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
