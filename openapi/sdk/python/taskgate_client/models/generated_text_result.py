from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.finish_reason import FinishReason
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generated_token import GeneratedToken
    from ..models.producer_id import ProducerId


T = TypeVar("T", bound="GeneratedTextResult")


@_attrs_define
class GeneratedTextResult:
    """The result of a unary text generation.

    Attributes:
        finish_reason (FinishReason): Why generation stopped (mirrors TGIS `StopReason`); serialized by name.
        generated_text (str): The generated text (prefixed by the input when `preserve_input_text` is true). Example:
            The capital of France is Paris..
        generated_tokens (int): Number of generated tokens. Example: 8.
        input_token_count (int): Number of tokens in the (possibly truncated) input. Example: 12.
        input_tokens (list[GeneratedToken] | Unset): Per-token details of the input, when `input_tokens` was asked for.
        producer_id (None | ProducerId | Unset):
        seed (int | None | Unset): The seed used for sampling. Example: 42.
        tokens (list[GeneratedToken] | Unset): Per-token details of the output, when `generated_tokens` was asked for.
    """

    finish_reason: FinishReason
    generated_text: str
    generated_tokens: int
    input_token_count: int
    input_tokens: list[GeneratedToken] | Unset = UNSET
    producer_id: None | ProducerId | Unset = UNSET
    seed: int | None | Unset = UNSET
    tokens: list[GeneratedToken] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.producer_id import ProducerId

        finish_reason = self.finish_reason.value

        generated_text = self.generated_text

        generated_tokens = self.generated_tokens

        input_token_count = self.input_token_count

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

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

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
                "finish_reason": finish_reason,
                "generated_text": generated_text,
                "generated_tokens": generated_tokens,
                "input_token_count": input_token_count,
            }
        )
        if input_tokens is not UNSET:
            field_dict["input_tokens"] = input_tokens
        if producer_id is not UNSET:
            field_dict["producer_id"] = producer_id
        if seed is not UNSET:
            field_dict["seed"] = seed
        if tokens is not UNSET:
            field_dict["tokens"] = tokens

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.generated_token import GeneratedToken
        from ..models.producer_id import ProducerId

        d = dict(src_dict)
        finish_reason = FinishReason(d.pop("finish_reason"))

        generated_text = d.pop("generated_text")

        generated_tokens = d.pop("generated_tokens")

        input_token_count = d.pop("input_token_count")

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

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        _tokens = d.pop("tokens", UNSET)
        tokens: list[GeneratedToken] | Unset = UNSET
        if _tokens is not UNSET:
            tokens = []
            for tokens_item_data in _tokens:
                tokens_item = GeneratedToken.from_dict(tokens_item_data)

                tokens.append(tokens_item)

        generated_text_result = cls(
            finish_reason=finish_reason,
            generated_text=generated_text,
            generated_tokens=generated_tokens,
            input_token_count=input_token_count,
            input_tokens=input_tokens,
            producer_id=producer_id,
            seed=seed,
            tokens=tokens,
        )

        generated_text_result.additional_properties = d
        return generated_text_result

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
