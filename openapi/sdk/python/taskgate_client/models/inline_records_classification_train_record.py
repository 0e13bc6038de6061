from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.inline_records_classification_train_record_data_item import (
        InlineRecordsClassificationTrainRecordDataItem,
    )


T = TypeVar("T", bound="InlineRecordsClassificationTrainRecord")


@_attrs_define
class InlineRecordsClassificationTrainRecord:
    """The records themselves.

    Attributes:
        data (list[InlineRecordsClassificationTrainRecordDataItem]):
    """

    data: list[InlineRecordsClassificationTrainRecordDataItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

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
        from ..models.inline_records_classification_train_record_data_item import (
            InlineRecordsClassificationTrainRecordDataItem,
        )

        d = dict(src_dict)
        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = InlineRecordsClassificationTrainRecordDataItem.from_dict(
                data_item_data
            )

            data.append(data_item)

        inline_records_classification_train_record = cls(
            data=data,
        )

        inline_records_classification_train_record.additional_properties = d
        return inline_records_classification_train_record

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
