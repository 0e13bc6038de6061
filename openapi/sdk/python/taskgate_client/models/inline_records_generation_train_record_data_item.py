from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="InlineRecordsGenerationTrainRecordDataItem")


@_attrs_define
class InlineRecordsGenerationTrainRecordDataItem:
    """One prompt and the answer the tuned model should give.

    Attributes:
        input_ (str):  Example: The battery lasts all day..
        output (str):  Example: positive.
    """

    input_: str
    output: str

    def to_dict(self) -> dict[str, Any]:
        input_ = self.input_

        output = self.output

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "input": input_,
                "output": output,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        input_ = d.pop("input")

        output = d.pop("output")

        inline_records_generation_train_record_data_item = cls(
            input_=input_,
            output=output,
        )

        return inline_records_generation_train_record_data_item
