from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="InlineRecordsClassificationTrainRecordDataItem")


@_attrs_define
class InlineRecordsClassificationTrainRecordDataItem:
    """One labelled text for classifier training.

    Attributes:
        labels (list[str]): One label, or several for a multi-label classifier. Example: ['positive'].
        text (str):  Example: The battery lasts all day..
    """

    labels: list[str]
    text: str

    def to_dict(self) -> dict[str, Any]:
        labels = self.labels

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "labels": labels,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        labels = cast(list[str], d.pop("labels"))

        text = d.pop("text")

        inline_records_classification_train_record_data_item = cls(
            labels=labels,
            text=text,
        )

        return inline_records_classification_train_record_data_item
