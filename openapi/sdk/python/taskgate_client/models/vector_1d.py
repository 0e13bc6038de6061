from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.float_sequence import FloatSequence


T = TypeVar("T", bound="Vector1D")


@_attrs_define
class Vector1D:
    """A vector of floats, wrapped as Caikit's `Vector1D` (`{"data": {"values": [...]}}`).

    Attributes:
        data (FloatSequence): The values of a `Vector1D`.
    """

    data: FloatSequence
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.float_sequence import FloatSequence

        d = dict(src_dict)
        data = FloatSequence.from_dict(d.pop("data"))

        vector_1d = cls(
            data=data,
        )

        vector_1d.additional_properties = d
        return vector_1d

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
