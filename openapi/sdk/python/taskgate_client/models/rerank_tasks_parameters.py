from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RerankTasksParameters")


@_attrs_define
class RerankTasksParameters:
    """Optional `rerank-tasks` parameters.

    Attributes:
        return_documents (bool | None | Unset):
        return_queries (bool | None | Unset): Include each query in its result (default true).
        return_text (bool | None | Unset):
        top_n (int | None | Unset):  Example: 3.
        truncate_input_tokens (int | None | Unset):
    """

    return_documents: bool | None | Unset = UNSET
    return_queries: bool | None | Unset = UNSET
    return_text: bool | None | Unset = UNSET
    top_n: int | None | Unset = UNSET
    truncate_input_tokens: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        return_documents: bool | None | Unset
        if isinstance(self.return_documents, Unset):
            return_documents = UNSET
        else:
            return_documents = self.return_documents

        return_queries: bool | None | Unset
        if isinstance(self.return_queries, Unset):
            return_queries = UNSET
        else:
            return_queries = self.return_queries

        return_text: bool | None | Unset
        if isinstance(self.return_text, Unset):
            return_text = UNSET
        else:
            return_text = self.return_text

        top_n: int | None | Unset
        if isinstance(self.top_n, Unset):
            top_n = UNSET
        else:
            top_n = self.top_n

        truncate_input_tokens: int | None | Unset
        if isinstance(self.truncate_input_tokens, Unset):
            truncate_input_tokens = UNSET
        else:
            truncate_input_tokens = self.truncate_input_tokens

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if return_documents is not UNSET:
            field_dict["return_documents"] = return_documents
        if return_queries is not UNSET:
            field_dict["return_queries"] = return_queries
        if return_text is not UNSET:
            field_dict["return_text"] = return_text
        if top_n is not UNSET:
            field_dict["top_n"] = top_n
        if truncate_input_tokens is not UNSET:
            field_dict["truncate_input_tokens"] = truncate_input_tokens

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_return_documents(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        return_documents = _parse_return_documents(d.pop("return_documents", UNSET))

        def _parse_return_queries(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        return_queries = _parse_return_queries(d.pop("return_queries", UNSET))

        def _parse_return_text(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        return_text = _parse_return_text(d.pop("return_text", UNSET))

        def _parse_top_n(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        top_n = _parse_top_n(d.pop("top_n", UNSET))

        def _parse_truncate_input_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        truncate_input_tokens = _parse_truncate_input_tokens(
            d.pop("truncate_input_tokens", UNSET)
        )

        rerank_tasks_parameters = cls(
            return_documents=return_documents,
            return_queries=return_queries,
            return_text=return_text,
            top_n=top_n,
            truncate_input_tokens=truncate_input_tokens,
        )

        return rerank_tasks_parameters
