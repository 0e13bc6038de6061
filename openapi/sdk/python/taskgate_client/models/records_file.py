from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.file_reference import FileReference


T = TypeVar("T", bound="RecordsFile")


@_attrs_define
class RecordsFile:
    """A file of records in the server's training data directory.

    Attributes:
        file (FileReference): A file inside the server's training data directory: `.jsonl` (one record per line),
            `.json` (an array of records) or `.csv` (a header row naming the record's fields).
    """

    file: FileReference
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.file_reference import FileReference

        d = dict(src_dict)
        file = FileReference.from_dict(d.pop("file"))

        records_file = cls(
            file=file,
        )

        records_file.additional_properties = d
        return records_file

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
