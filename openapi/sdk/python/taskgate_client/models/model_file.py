from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelFile")


@_attrs_define
class ModelFile:
    """One file of a deployed model.

    Attributes:
        data (str): Its bytes, base64-encoded. Example: bW9kdWxlOiBwaWktcnVsZXMK.
        filename (str): Its path inside the model's directory: relative, no `..`. Example: taskgate.yaml.
        type_ (None | str | Unset): A media type, for Caikit clients that send one; not used.
    """

    data: str
    filename: str
    type_: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        data = self.data

        filename = self.filename

        type_: None | str | Unset
        if isinstance(self.type_, Unset):
            type_ = UNSET
        else:
            type_ = self.type_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data": data,
                "filename": filename,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        data = d.pop("data")

        filename = d.pop("filename")

        def _parse_type_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        type_ = _parse_type_(d.pop("type", UNSET))

        model_file = cls(
            data=data,
            filename=filename,
            type_=type_,
        )

        return model_file
