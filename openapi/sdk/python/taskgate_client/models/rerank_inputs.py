from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.rerank_document import RerankDocument


T = TypeVar("T", bound="RerankInputs")


@_attrs_define
class RerankInputs:
    """Inputs of `rerank`.

    Attributes:
        documents (list[RerankDocument]): Documents as JSON objects; the text to score is their `text` field. At most
            the
            model's `max_client_batch_size` (its metadata in `GET /info/models`).
        query (str):
    """

    documents: list[RerankDocument]
    query: str

    def to_dict(self) -> dict[str, Any]:
        documents = []
        for documents_item_data in self.documents:
            documents_item = documents_item_data.to_dict()
            documents.append(documents_item)

        query = self.query

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "documents": documents,
                "query": query,
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

        query = d.pop("query")

        rerank_inputs = cls(
            documents=documents,
            query=query,
        )

        return rerank_inputs
