from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_error import FieldError


T = TypeVar("T", bound="ErrorBody")


@_attrs_define
class ErrorBody:
    """The one error body every endpoint returns (Caikit's `{details, code, id}` shape).

    Example:
        {'code': 404, 'details': "Model 'nope' not loaded", 'id': '6f1c1a52-3c39-4c55-9f0e-1b2cbd5b5d0e'}

    Attributes:
        code (int): The HTTP status code, repeated in the body for clients that only keep the body.
        details (str): Human-readable reason.
        id (str): The request id (the `x-request-id` header), to correlate with server logs.
        additional_info (list[FieldError] | None | Unset): Per-field reasons for validation errors, one entry per
            offending field.
    """

    code: int
    details: str
    id: str
    additional_info: list[FieldError] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        details = self.details

        id = self.id

        additional_info: list[dict[str, Any]] | None | Unset
        if isinstance(self.additional_info, Unset):
            additional_info = UNSET
        elif isinstance(self.additional_info, list):
            additional_info = []
            for additional_info_type_0_item_data in self.additional_info:
                additional_info_type_0_item = additional_info_type_0_item_data.to_dict()
                additional_info.append(additional_info_type_0_item)

        else:
            additional_info = self.additional_info

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "details": details,
                "id": id,
            }
        )
        if additional_info is not UNSET:
            field_dict["additional_info"] = additional_info

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_error import FieldError

        d = dict(src_dict)
        code = d.pop("code")

        details = d.pop("details")

        id = d.pop("id")

        def _parse_additional_info(data: object) -> list[FieldError] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                additional_info_type_0 = []
                _additional_info_type_0 = data
                for additional_info_type_0_item_data in _additional_info_type_0:
                    additional_info_type_0_item = FieldError.from_dict(
                        additional_info_type_0_item_data
                    )

                    additional_info_type_0.append(additional_info_type_0_item)

                return additional_info_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[FieldError] | None | Unset, data)

        additional_info = _parse_additional_info(d.pop("additional_info", UNSET))

        error_body = cls(
            code=code,
            details=details,
            id=id,
            additional_info=additional_info,
        )

        error_body.additional_properties = d
        return error_body

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
