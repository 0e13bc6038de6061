from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenClassificationResult")


@_attrs_define
class TokenClassificationResult:
    """One entity span found in a text.

    Attributes:
        end (int): End of the span (exclusive), a Unicode code-point offset. Example: 20.
        entity (str): The entity type. Example: EMAIL.
        score (float): Confidence in `[0, 1]`. Example: 1.0.
        start (int): Start of the span as a Unicode code-point offset (what Python `str` indexing uses). Example: 5.
        word (str): The text of the span. Example: ana@example.com.
        entity_group (None | str | Unset): The aggregated entity group, when tokens were merged into one span. Example:
            EMAIL.
        token_count (int | None | Unset): Number of model tokens the span covers, when known.
    """

    end: int
    entity: str
    score: float
    start: int
    word: str
    entity_group: None | str | Unset = UNSET
    token_count: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        end = self.end

        entity = self.entity

        score = self.score

        start = self.start

        word = self.word

        entity_group: None | str | Unset
        if isinstance(self.entity_group, Unset):
            entity_group = UNSET
        else:
            entity_group = self.entity_group

        token_count: int | None | Unset
        if isinstance(self.token_count, Unset):
            token_count = UNSET
        else:
            token_count = self.token_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "end": end,
                "entity": entity,
                "score": score,
                "start": start,
                "word": word,
            }
        )
        if entity_group is not UNSET:
            field_dict["entity_group"] = entity_group
        if token_count is not UNSET:
            field_dict["token_count"] = token_count

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        end = d.pop("end")

        entity = d.pop("entity")

        score = d.pop("score")

        start = d.pop("start")

        word = d.pop("word")

        def _parse_entity_group(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        entity_group = _parse_entity_group(d.pop("entity_group", UNSET))

        def _parse_token_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        token_count = _parse_token_count(d.pop("token_count", UNSET))

        token_classification_result = cls(
            end=end,
            entity=entity,
            score=score,
            start=start,
            word=word,
            entity_group=entity_group,
            token_count=token_count,
        )

        token_classification_result.additional_properties = d
        return token_classification_result

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
