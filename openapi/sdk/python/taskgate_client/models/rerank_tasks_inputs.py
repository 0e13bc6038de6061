from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.rerank_document import RerankDocument


T = TypeVar("T", bound="RerankTasksInputs")


@_attrs_define
class RerankTasksInputs:
    """Inputs of `rerank-tasks`.

    Attributes:
        documents (list[RerankDocument]): As for `rerank`.
        queries (list[str]): At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    """

    documents: list[RerankDocument]
    queries: list[str]

    def to_dict(self) -> dict[str, Any]:
        documents = []
        for documents_item_data in self.documents:
            documents_item = documents_item_data.to_dict()
            documents.append(documents_item)

        queries = self.queries

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "documents": documents,
                "queries": queries,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.rerank_document import RerankDocument

        d = dict(src_dict)
        documents = []
        _documents = d.pop("documents")
        for documents_item_data in _documents:
            documents_item = RerankDocument.from_dict(documents_item_data)

            documents.append(documents_item)

        queries = cast(list[str], d.pop("queries"))

        rerank_tasks_inputs = cls(
            documents=documents,
            queries=queries,
        )

        return rerank_tasks_inputs
