from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.inline_records_generation_train_record import (
        InlineRecordsGenerationTrainRecord,
    )
    from ..models.records_file import RecordsFile


T = TypeVar("T", bound="DataStreamSourceGenerationTrainRecord")


@_attrs_define
class DataStreamSourceGenerationTrainRecord:
    """The REST form of a Caikit data stream argument.

    Attributes:
        data_stream (InlineRecordsGenerationTrainRecord | RecordsFile): Where training records come from: inline, or a
            file.
    """

    data_stream: InlineRecordsGenerationTrainRecord | RecordsFile

    def to_dict(self) -> dict[str, Any]:
        from ..models.inline_records_generation_train_record import (
            InlineRecordsGenerationTrainRecord,
        )

        data_stream: dict[str, Any]
        if isinstance(self.data_stream, InlineRecordsGenerationTrainRecord):
            data_stream = self.data_stream.to_dict()
        else:
            data_stream = self.data_stream.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data_stream": data_stream,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.inline_records_generation_train_record import (
            InlineRecordsGenerationTrainRecord,
        )
        from ..models.records_file import RecordsFile

        d = dict(src_dict)

        def _parse_data_stream(
            data: object,
        ) -> InlineRecordsGenerationTrainRecord | RecordsFile:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_data_stream_generation_train_record_type_0 = (
                    InlineRecordsGenerationTrainRecord.from_dict(data)
                )

                return componentsschemas_data_stream_generation_train_record_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_data_stream_generation_train_record_type_1 = (
                RecordsFile.from_dict(data)
            )

            return componentsschemas_data_stream_generation_train_record_type_1

        data_stream = _parse_data_stream(d.pop("data_stream"))

        data_stream_source_generation_train_record = cls(
            data_stream=data_stream,
        )

        return data_stream_source_generation_train_record
