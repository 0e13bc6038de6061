from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ExponentialDecayLengthPenalty")


@_attrs_define
class ExponentialDecayLengthPenalty:
    """Lengthen or shorten outputs: past `start_index` generated tokens, the EOS score grows by
    `decay_factor ^ (n - start_index)`.

        Attributes:
            decay_factor (float): Growth factor, in `[1, 10]`. Example: 1.05.
            start_index (int): Generated-token count after which the penalty starts. Example: 20.
    """

    decay_factor: float
    start_index: int

    def to_dict(self) -> dict[str, Any]:
        decay_factor = self.decay_factor

        start_index = self.start_index

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "decay_factor": decay_factor,
                "start_index": start_index,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        decay_factor = d.pop("decay_factor")

        start_index = d.pop("start_index")

        exponential_decay_length_penalty = cls(
            decay_factor=decay_factor,
            start_index=start_index,
        )

        return exponential_decay_length_penalty
