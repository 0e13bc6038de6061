from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="FileReference")


@_attrs_define
class FileReference:
    """A file inside the server's training data directory: `.jsonl` (one record per line),
    `.json` (an array of records) or `.csv` (a header row naming the record's fields).

        Attributes:
            filename (str): Relative to the data directory; paths leading outside it are refused. Example:
                sentiment/train.jsonl.
    """

    filename: str

    def to_dict(self) -> dict[str, Any]:
        filename = self.filename

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "filename": filename,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        filename = d.pop("filename")

        file_reference = cls(
            filename=filename,
        )

        return file_reference
