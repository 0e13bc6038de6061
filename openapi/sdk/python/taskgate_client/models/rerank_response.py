from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.input_usage import InputUsage
    from ..models.reranked_document import RerankedDocument


T = TypeVar("T", bound="RerankResponse")


@_attrs_define
class RerankResponse:
    """
    Attributes:
        id (str): `rerank-` and the request id.
        model (str):
        results (list[RerankedDocument]): Most relevant first.
        usage (InputUsage): Tokens of the inputs (the models here generate none).
    """

    id: str
    model: str
    results: list[RerankedDocument]
    usage: InputUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        model = self.model

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "model": model,
                "results": results,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.input_usage import InputUsage
        from ..models.reranked_document import RerankedDocument

        d = dict(src_dict)
        id = d.pop("id")

        model = d.pop("model")

        results = []
        _results = d.pop("results")
        for results_item_data in _results:
            results_item = RerankedDocument.from_dict(results_item_data)

            results.append(results_item)

        usage = InputUsage.from_dict(d.pop("usage"))

        rerank_response = cls(
            id=id,
            model=model,
            results=results,
            usage=usage,
        )

        rerank_response.additional_properties = d
        return rerank_response

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
