from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.document_text import DocumentText


T = TypeVar("T", bound="CreateRerankRequest")


@_attrs_define
class CreateRerankRequest:
    """A rerank request, in the shape Cohere's, Jina's and vLLM's clients send.

    Attributes:
        documents (list[DocumentText | str]): At most the model's `max_client_batch_size` (its metadata in `GET
            /info/models`).
        model (str):  Example: all-minilm.
        query (str):  Example: What is the capital of France?.
        return_documents (bool | None | Unset): Put each document's text in its result (default false).
        top_n (int | None | Unset): Only the N most relevant (default: all). Example: 3.
    """

    documents: list[DocumentText | str]
    model: str
    query: str
    return_documents: bool | None | Unset = UNSET
    top_n: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.document_text import DocumentText

        documents = []
        for documents_item_data in self.documents:
            documents_item: dict[str, Any] | str
            if isinstance(documents_item_data, DocumentText):
                documents_item = documents_item_data.to_dict()
            else:
                documents_item = documents_item_data
            documents.append(documents_item)

        model = self.model

        query = self.query

        return_documents: bool | None | Unset
        if isinstance(self.return_documents, Unset):
            return_documents = UNSET
        else:
            return_documents = self.return_documents

        top_n: int | None | Unset
        if isinstance(self.top_n, Unset):
            top_n = UNSET
        else:
            top_n = self.top_n

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "documents": documents,
                "model": model,
                "query": query,
            }
        )
        if return_documents is not UNSET:
            field_dict["return_documents"] = return_documents
        if top_n is not UNSET:
            field_dict["top_n"] = top_n

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.document_text import DocumentText

        d = dict(src_dict)
        documents = []
        _documents = d.pop("documents")
        for documents_item_data in _documents:

            def _parse_documents_item(data: object) -> DocumentText | str:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_rerank_document_in_type_1 = (
                        DocumentText.from_dict(data)
                    )

                    return componentsschemas_rerank_document_in_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(DocumentText | str, data)

            documents_item = _parse_documents_item(documents_item_data)

            documents.append(documents_item)

        model = d.pop("model")

        query = d.pop("query")

        def _parse_return_documents(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        return_documents = _parse_return_documents(d.pop("return_documents", UNSET))

        def _parse_top_n(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        top_n = _parse_top_n(d.pop("top_n", UNSET))

        create_rerank_request = cls(
            documents=documents,
            model=model,
            query=query,
            return_documents=return_documents,
            top_n=top_n,
        )

        return create_rerank_request
