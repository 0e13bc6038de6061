from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generated_token import GeneratedToken
    from ..models.producer_id import ProducerId
    from ..models.token_stream_details import TokenStreamDetails


T = TypeVar("T", bound="GeneratedTextStreamResult")


@_attrs_define
class GeneratedTextStreamResult:
    """One event of a streamed text generation: the text delta since the previous event. The first
    event carries `details` with `input_token_count` (and the input text when
    `preserve_input_text` is set), then one event per generated token, then a last event whose
    `details` hold the finish reason. The deltas concatenate to the unary `generated_text`.

        Attributes:
            generated_text (str): Text generated since the previous event. Example:  Paris.
            details (None | TokenStreamDetails | Unset):
            input_tokens (list[GeneratedToken] | Unset):
            producer_id (None | ProducerId | Unset):
            tokens (list[GeneratedToken] | Unset):
    """

    generated_text: str
    details: None | TokenStreamDetails | Unset = UNSET
    input_tokens: list[GeneratedToken] | Unset = UNSET
    producer_id: None | ProducerId | Unset = UNSET
    tokens: list[GeneratedToken] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.producer_id import ProducerId
        from ..models.token_stream_details import TokenStreamDetails

        generated_text = self.generated_text

        details: dict[str, Any] | None | Unset
        if isinstance(self.details, Unset):
            details = UNSET
        elif isinstance(self.details, TokenStreamDetails):
            details = self.details.to_dict()
        else:
            details = self.details

        input_tokens: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.input_tokens, Unset):
            input_tokens = []
            for input_tokens_item_data in self.input_tokens:
                input_tokens_item = input_tokens_item_data.to_dict()
                input_tokens.append(input_tokens_item)

        producer_id: dict[str, Any] | None | Unset
        if isinstance(self.producer_id, Unset):
            producer_id = UNSET
        elif isinstance(self.producer_id, ProducerId):
            producer_id = self.producer_id.to_dict()
        else:
            producer_id = self.producer_id

        tokens: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.tokens, Unset):
            tokens = []
            for tokens_item_data in self.tokens:
                tokens_item = tokens_item_data.to_dict()
                tokens.append(tokens_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "generated_text": generated_text,
            }
        )
        if details is not UNSET:
            field_dict["details"] = details
        if input_tokens is not UNSET:
            field_dict["input_tokens"] = input_tokens
        if producer_id is not UNSET:
            field_dict["producer_id"] = producer_id
        if tokens is not UNSET:
            field_dict["tokens"] = tokens

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.generated_token import GeneratedToken
        from ..models.producer_id import ProducerId
        from ..models.token_stream_details import TokenStreamDetails

        d = dict(src_dict)
        generated_text = d.pop("generated_text")

        def _parse_details(data: object) -> None | TokenStreamDetails | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                details_type_0 = TokenStreamDetails.from_dict(data)

                return details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenStreamDetails | Unset, data)

        details = _parse_details(d.pop("details", UNSET))

        _input_tokens = d.pop("input_tokens", UNSET)
        input_tokens: list[GeneratedToken] | Unset = UNSET
        if _input_tokens is not UNSET:
            input_tokens = []
            for input_tokens_item_data in _input_tokens:
                input_tokens_item = GeneratedToken.from_dict(input_tokens_item_data)

                input_tokens.append(input_tokens_item)

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

        _tokens = d.pop("tokens", UNSET)
        tokens: list[GeneratedToken] | Unset = UNSET
        if _tokens is not UNSET:
            tokens = []
            for tokens_item_data in _tokens:
                tokens_item = GeneratedToken.from_dict(tokens_item_data)

                tokens.append(tokens_item)

        generated_text_stream_result = cls(
            generated_text=generated_text,
            details=details,
            input_tokens=input_tokens,
            producer_id=producer_id,
            tokens=tokens,
        )

        generated_text_stream_result.additional_properties = d
        return generated_text_stream_result

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
