from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.rerank_score_document_type_0 import RerankScoreDocumentType0


T = TypeVar("T", bound="RerankScore")


@_attrs_define
class RerankScore:
    """The score of one document for a query.

    Attributes:
        index (int): Index of the document in the request. Example: 0.
        score (float): Relevance score, higher is more relevant. Example: 0.92.
        document (None | RerankScoreDocumentType0 | Unset): The document, when `return_documents` is true.
        text (None | str | Unset): The document's `text`, when `return_text` is true.
    """

    index: int
    score: float
    document: None | RerankScoreDocumentType0 | Unset = UNSET
    text: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.rerank_score_document_type_0 import RerankScoreDocumentType0

        index = self.index

        score = self.score

        document: dict[str, Any] | None | Unset
        if isinstance(self.document, Unset):
            document = UNSET
        elif isinstance(self.document, RerankScoreDocumentType0):
            document = self.document.to_dict()
        else:
            document = self.document

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "score": score,
            }
        )
        if document is not UNSET:
            field_dict["document"] = document
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.rerank_score_document_type_0 import RerankScoreDocumentType0

        d = dict(src_dict)
        index = d.pop("index")

        score = d.pop("score")

        def _parse_document(data: object) -> None | RerankScoreDocumentType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                document_type_0 = RerankScoreDocumentType0.from_dict(data)

                return document_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RerankScoreDocumentType0 | Unset, data)

        document = _parse_document(d.pop("document", UNSET))

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        rerank_score = cls(
            index=index,
            score=score,
            document=document,
            text=text,
        )

        rerank_score.additional_properties = d
        return rerank_score

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
