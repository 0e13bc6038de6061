from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.content_part_kind import ContentPartKind

T = TypeVar("T", bound="ContentPart")


@_attrs_define
class ContentPart:
    """One part of a message: only text.

    Attributes:
        text (str):
        type_ (ContentPartKind):
    """

    text: str
    type_: ContentPartKind

    def to_dict(self) -> dict[str, Any]:
        text = self.text

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "text": text,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        text = d.pop("text")

        type_ = ContentPartKind(d.pop("type"))

        content_part = cls(
            text=text,
            type_=type_,
        )

        return content_part
