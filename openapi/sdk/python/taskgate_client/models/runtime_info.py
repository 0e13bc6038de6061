from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.config_reload import ConfigReload


T = TypeVar("T", bound="RuntimeInfo")


@_attrs_define
class RuntimeInfo:
    """`GET /info/version`.

    Attributes:
        api_version (str): Version of the task API (route prefix). Example: v1.
        runtime_version (str): The taskgate version. Example: 0.1.0.
        tasks (list[str]): Every task this build can route, by route name. Example: ['token-classification', 'text-
            generation'].
        config_reload (ConfigReload | None | Unset):
    """

    api_version: str
    runtime_version: str
    tasks: list[str]
    config_reload: ConfigReload | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.config_reload import ConfigReload

        api_version = self.api_version

        runtime_version = self.runtime_version

        tasks = self.tasks

        config_reload: dict[str, Any] | None | Unset
        if isinstance(self.config_reload, Unset):
            config_reload = UNSET
        elif isinstance(self.config_reload, ConfigReload):
            config_reload = self.config_reload.to_dict()
        else:
            config_reload = self.config_reload

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "api_version": api_version,
                "runtime_version": runtime_version,
                "tasks": tasks,
            }
        )
        if config_reload is not UNSET:
            field_dict["config_reload"] = config_reload

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.config_reload import ConfigReload

        d = dict(src_dict)
        api_version = d.pop("api_version")

        runtime_version = d.pop("runtime_version")

        tasks = cast(list[str], d.pop("tasks"))

        def _parse_config_reload(data: object) -> ConfigReload | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                config_reload_type_0 = ConfigReload.from_dict(data)

                return config_reload_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConfigReload | None | Unset, data)

        config_reload = _parse_config_reload(d.pop("config_reload", UNSET))

        runtime_info = cls(
            api_version=api_version,
            runtime_version=runtime_version,
            tasks=tasks,
            config_reload=config_reload,
        )

        runtime_info.additional_properties = d
        return runtime_info

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
