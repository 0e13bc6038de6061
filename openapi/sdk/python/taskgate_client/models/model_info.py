from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.model_info_metadata import ModelInfoMetadata


T = TypeVar("T", bound="ModelInfo")


@_attrs_define
class ModelInfo:
    """One served model.

    Attributes:
        backend (str): Where it runs: `rules`, `candle`, or a remote runtime kind. Example: rules.
        loaded (bool): Whether it is ready to serve.
        metadata (ModelInfoMetadata): Module-specific facts (e.g. the enabled entity types).
        module (str): The module that implements it. Example: pii-rules.
        name (str): The `model_id` clients send. Example: pii-rules.
        size (int): Approximate resident size in bytes. Example: 0.
        tasks (list[str]): Tasks it serves, by route name. Example: ['token-classification'].
        model_path (None | str | Unset): Directory it was loaded from, if any.
    """

    backend: str
    loaded: bool
    metadata: ModelInfoMetadata
    module: str
    name: str
    size: int
    tasks: list[str]
    model_path: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backend = self.backend

        loaded = self.loaded

        metadata = self.metadata.to_dict()

        module = self.module

        name = self.name

        size = self.size

        tasks = self.tasks

        model_path: None | str | Unset
        if isinstance(self.model_path, Unset):
            model_path = UNSET
        else:
            model_path = self.model_path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backend": backend,
                "loaded": loaded,
                "metadata": metadata,
                "module": module,
                "name": name,
                "size": size,
                "tasks": tasks,
            }
        )
        if model_path is not UNSET:
            field_dict["model_path"] = model_path

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.model_info_metadata import ModelInfoMetadata

        d = dict(src_dict)
        backend = d.pop("backend")

        loaded = d.pop("loaded")

        metadata = ModelInfoMetadata.from_dict(d.pop("metadata"))

        module = d.pop("module")

        name = d.pop("name")

        size = d.pop("size")

        tasks = cast(list[str], d.pop("tasks"))

        def _parse_model_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_path = _parse_model_path(d.pop("model_path", UNSET))

        model_info = cls(
            backend=backend,
            loaded=loaded,
            metadata=metadata,
            module=module,
            name=name,
            size=size,
            tasks=tasks,
            model_path=model_path,
        )

        model_info.additional_properties = d
        return model_info

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
