from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.load_policy import LoadPolicy
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.deploy_model_request_backend_type_0 import (
        DeployModelRequestBackendType0,
    )
    from ..models.deploy_model_request_config_type_0 import (
        DeployModelRequestConfigType0,
    )
    from ..models.model_file import ModelFile


T = TypeVar("T", bound="DeployModelRequest")


@_attrs_define
class DeployModelRequest:
    """Deploys a model while serving. Caikit's form gives `model_files` (written into
    `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
    model as a config file's `models:` entry does: `module` (with `config`) or `backend`. Paths
    in either form must stay inside `models_dir`.

        Attributes:
            model_id (str): The `model_id` clients will send. Example: minilm-2.
            backend (DeployModelRequestBackendType0 | None | Unset): A remote runtime serving it (taskgate's form), as in a
                config file.
            config (DeployModelRequestConfigType0 | None | Unset): The module's settings; `path` is relative to
                `models_dir`.
            load (LoadPolicy | None | Unset):
            max_concurrent_requests (int | None | Unset): Its own limit of requests in flight (default: the server's).
            model_files (list[ModelFile] | Unset): The model's files (Caikit's form): each a relative name and its bytes in
                base64.
            module (None | str | Unset): The in-process module serving it (taskgate's form). Example: sentence-embeddings.
            pinned (bool | Unset): Never unloaded to make room in `models_memory_bytes`.
    """

    model_id: str
    backend: DeployModelRequestBackendType0 | None | Unset = UNSET
    config: DeployModelRequestConfigType0 | None | Unset = UNSET
    load: LoadPolicy | None | Unset = UNSET
    max_concurrent_requests: int | None | Unset = UNSET
    model_files: list[ModelFile] | Unset = UNSET
    module: None | str | Unset = UNSET
    pinned: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.deploy_model_request_backend_type_0 import (
            DeployModelRequestBackendType0,
        )
        from ..models.deploy_model_request_config_type_0 import (
            DeployModelRequestConfigType0,
        )

        model_id = self.model_id

        backend: dict[str, Any] | None | Unset
        if isinstance(self.backend, Unset):
            backend = UNSET
        elif isinstance(self.backend, DeployModelRequestBackendType0):
            backend = self.backend.to_dict()
        else:
            backend = self.backend

        config: dict[str, Any] | None | Unset
        if isinstance(self.config, Unset):
            config = UNSET
        elif isinstance(self.config, DeployModelRequestConfigType0):
            config = self.config.to_dict()
        else:
            config = self.config

        load: None | str | Unset
        if isinstance(self.load, Unset):
            load = UNSET
        elif isinstance(self.load, LoadPolicy):
            load = self.load.value
        else:
            load = self.load

        max_concurrent_requests: int | None | Unset
        if isinstance(self.max_concurrent_requests, Unset):
            max_concurrent_requests = UNSET
        else:
            max_concurrent_requests = self.max_concurrent_requests

        model_files: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.model_files, Unset):
            model_files = []
            for model_files_item_data in self.model_files:
                model_files_item = model_files_item_data.to_dict()
                model_files.append(model_files_item)

        module: None | str | Unset
        if isinstance(self.module, Unset):
            module = UNSET
        else:
            module = self.module

        pinned = self.pinned

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model_id": model_id,
            }
        )
        if backend is not UNSET:
            field_dict["backend"] = backend
        if config is not UNSET:
            field_dict["config"] = config
        if load is not UNSET:
            field_dict["load"] = load
        if max_concurrent_requests is not UNSET:
            field_dict["max_concurrent_requests"] = max_concurrent_requests
        if model_files is not UNSET:
            field_dict["model_files"] = model_files
        if module is not UNSET:
            field_dict["module"] = module
        if pinned is not UNSET:
            field_dict["pinned"] = pinned

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.deploy_model_request_backend_type_0 import (
            DeployModelRequestBackendType0,
        )
        from ..models.deploy_model_request_config_type_0 import (
            DeployModelRequestConfigType0,
        )
        from ..models.model_file import ModelFile

        d = dict(src_dict)
        model_id = d.pop("model_id")

        def _parse_backend(
            data: object,
        ) -> DeployModelRequestBackendType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                backend_type_0 = DeployModelRequestBackendType0.from_dict(data)

                return backend_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DeployModelRequestBackendType0 | None | Unset, data)

        backend = _parse_backend(d.pop("backend", UNSET))

        def _parse_config(data: object) -> DeployModelRequestConfigType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                config_type_0 = DeployModelRequestConfigType0.from_dict(data)

                return config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DeployModelRequestConfigType0 | None | Unset, data)

        config = _parse_config(d.pop("config", UNSET))

        def _parse_load(data: object) -> LoadPolicy | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                load_type_0 = LoadPolicy(data)

                return load_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LoadPolicy | None | Unset, data)

        load = _parse_load(d.pop("load", UNSET))

        def _parse_max_concurrent_requests(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_concurrent_requests = _parse_max_concurrent_requests(
            d.pop("max_concurrent_requests", UNSET)
        )

        _model_files = d.pop("model_files", UNSET)
        model_files: list[ModelFile] | Unset = UNSET
        if _model_files is not UNSET:
            model_files = []
            for model_files_item_data in _model_files:
                model_files_item = ModelFile.from_dict(model_files_item_data)

                model_files.append(model_files_item)

        def _parse_module(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        module = _parse_module(d.pop("module", UNSET))

        pinned = d.pop("pinned", UNSET)

        deploy_model_request = cls(
            model_id=model_id,
            backend=backend,
            config=config,
            load=load,
            max_concurrent_requests=max_concurrent_requests,
            model_files=model_files,
            module=module,
            pinned=pinned,
        )

        return deploy_model_request
