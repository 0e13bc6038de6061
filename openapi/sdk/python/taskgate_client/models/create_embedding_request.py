from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.encoding_format import EncodingFormat
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateEmbeddingRequest")


@_attrs_define
class CreateEmbeddingRequest:
    """
    Attributes:
        input_ (list[str] | str): The texts to embed: one, or a list (one embedding each, in order) of at most the
            model's `max_client_batch_size` (its metadata in `GET /info/models`).
        model (str):  Example: all-minilm.
        dimensions (int | None | Unset): Only the model's own dimension (models here do not shorten their vectors).
            Example: 384.
        encoding_format (EncodingFormat | None | Unset):
        user (None | str | Unset):
    """

    input_: list[str] | str
    model: str
    dimensions: int | None | Unset = UNSET
    encoding_format: EncodingFormat | None | Unset = UNSET
    user: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        input_: list[str] | str
        if isinstance(self.input_, list):
            input_ = self.input_

        else:
            input_ = self.input_

        model = self.model

        dimensions: int | None | Unset
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        else:
            dimensions = self.dimensions

        encoding_format: None | str | Unset
        if isinstance(self.encoding_format, Unset):
            encoding_format = UNSET
        elif isinstance(self.encoding_format, EncodingFormat):
            encoding_format = self.encoding_format.value
        else:
            encoding_format = self.encoding_format

        user: None | str | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        else:
            user = self.user

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "input": input_,
                "model": model,
            }
        )
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if encoding_format is not UNSET:
            field_dict["encoding_format"] = encoding_format
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_input_(data: object) -> list[str] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                input_type_1 = cast(list[str], data)

                return input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | str, data)

        input_ = _parse_input_(d.pop("input"))

        model = d.pop("model")

        def _parse_dimensions(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))

        def _parse_encoding_format(data: object) -> EncodingFormat | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                encoding_format_type_0 = EncodingFormat(data)

                return encoding_format_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EncodingFormat | None | Unset, data)

        encoding_format = _parse_encoding_format(d.pop("encoding_format", UNSET))

        def _parse_user(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user = _parse_user(d.pop("user", UNSET))

        create_embedding_request = cls(
            input_=input_,
            model=model,
            dimensions=dimensions,
            encoding_format=encoding_format,
            user=user,
        )

        return create_embedding_request
