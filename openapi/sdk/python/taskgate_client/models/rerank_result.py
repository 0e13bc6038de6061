from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.producer_id import ProducerId
    from ..models.rerank_scores import RerankScores


T = TypeVar("T", bound="RerankResult")


@_attrs_define
class RerankResult:
    """The result of `rerank`.

    Attributes:
        input_token_count (int):
        result (RerankScores): The documents of one query, most relevant first.
        producer_id (None | ProducerId | Unset):
    """

    input_token_count: int
    result: RerankScores
    producer_id: None | ProducerId | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.producer_id import ProducerId

        input_token_count = self.input_token_count

        result = self.result.to_dict()

        producer_id: dict[str, Any] | None | Unset
        if isinstance(self.producer_id, Unset):
            producer_id = UNSET
        elif isinstance(self.producer_id, ProducerId):
            producer_id = self.producer_id.to_dict()
        else:
            producer_id = self.producer_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "input_token_count": input_token_count,
                "result": result,
            }
        )
        if producer_id is not UNSET:
            field_dict["producer_id"] = producer_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.producer_id import ProducerId
        from ..models.rerank_scores import RerankScores

        d = dict(src_dict)
        input_token_count = d.pop("input_token_count")

        result = RerankScores.from_dict(d.pop("result"))

        def _parse_producer_id(data: object) -> None | ProducerId | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                producer_id_type_0 = ProducerId.from_dict(data)

                return producer_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProducerId | Unset, data)

        producer_id = _parse_producer_id(d.pop("producer_id", UNSET))

        rerank_result = cls(
            input_token_count=input_token_count,
            result=result,
            producer_id=producer_id,
        )

        rerank_result.additional_properties = d
        return rerank_result

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
