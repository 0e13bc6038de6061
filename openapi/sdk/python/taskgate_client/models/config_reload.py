from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ConfigReload")


@_attrs_define
class ConfigReload:
    """The config reloads of a serving process: models and aliases added, changed and removed
    without a restart.

        Attributes:
            applied (int): Reloads applied since start.
            refused (int): Reloads refused since start (the config in force kept serving).
            last_attempt (None | str | Unset): When the last reload ran (RFC 3339, UTC).
            last_error (None | str | Unset): Why the last reload was refused, while no later one was applied.
            needs_restart (list[str] | Unset): Settings changed in the file that only a restart applies (top-level keys).
    """

    applied: int
    refused: int
    last_attempt: None | str | Unset = UNSET
    last_error: None | str | Unset = UNSET
    needs_restart: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        applied = self.applied

        refused = self.refused

        last_attempt: None | str | Unset
        if isinstance(self.last_attempt, Unset):
            last_attempt = UNSET
        else:
            last_attempt = self.last_attempt

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        needs_restart: list[str] | Unset = UNSET
        if not isinstance(self.needs_restart, Unset):
            needs_restart = self.needs_restart

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "applied": applied,
                "refused": refused,
            }
        )
        if last_attempt is not UNSET:
            field_dict["last_attempt"] = last_attempt
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if needs_restart is not UNSET:
            field_dict["needs_restart"] = needs_restart

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        applied = d.pop("applied")

        refused = d.pop("refused")

        def _parse_last_attempt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_attempt = _parse_last_attempt(d.pop("last_attempt", UNSET))

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))

        needs_restart = cast(list[str], d.pop("needs_restart", UNSET))

        config_reload = cls(
            applied=applied,
            refused=refused,
            last_attempt=last_attempt,
            last_error=last_error,
            needs_restart=needs_restart,
        )

        config_reload.additional_properties = d
        return config_reload

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
