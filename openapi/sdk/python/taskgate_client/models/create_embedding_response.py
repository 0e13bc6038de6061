from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.embedding import Embedding
    from ..models.input_usage import InputUsage


T = TypeVar("T", bound="CreateEmbeddingResponse")


@_attrs_define
class CreateEmbeddingResponse:
    """
    Attributes:
        data (list[Embedding]):
        model (str):
        object_ (str): Always `list`. Example: list.
        usage (InputUsage): Tokens of the inputs (the models here generate none).
    """

    data: list[Embedding]
    model: str
    object_: str
    usage: InputUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        model = self.model

        object_ = self.object_

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "model": model,
                "object": object_,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.embedding import Embedding
        from ..models.input_usage import InputUsage

        d = dict(src_dict)
        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = Embedding.from_dict(data_item_data)

            data.append(data_item)

        model = d.pop("model")

        object_ = d.pop("object")

        usage = InputUsage.from_dict(d.pop("usage"))

        create_embedding_response = cls(
            data=data,
            model=model,
            object_=object_,
            usage=usage,
        )

        create_embedding_response.additional_properties = d
        return create_embedding_response

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
