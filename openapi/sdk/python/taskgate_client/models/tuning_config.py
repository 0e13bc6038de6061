from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.prompt_tuning_init import PromptTuningInit
from ..types import UNSET, Unset

T = TypeVar("T", bound="TuningConfig")


@_attrs_define
class TuningConfig:
    """The soft prompt's shape and start (Caikit's `TuningConfig`).

    Attributes:
        num_virtual_tokens (int | None | Unset): Learned embeddings placed before every input (default 8). Example: 8.
        prompt_tuning_init_method (None | PromptTuningInit | Unset):
        prompt_tuning_init_text (None | str | Unset):  Example: Classify the sentiment of this review..
    """

    num_virtual_tokens: int | None | Unset = UNSET
    prompt_tuning_init_method: None | PromptTuningInit | Unset = UNSET
    prompt_tuning_init_text: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        num_virtual_tokens: int | None | Unset
        if isinstance(self.num_virtual_tokens, Unset):
            num_virtual_tokens = UNSET
        else:
            num_virtual_tokens = self.num_virtual_tokens

        prompt_tuning_init_method: None | str | Unset
        if isinstance(self.prompt_tuning_init_method, Unset):
            prompt_tuning_init_method = UNSET
        elif isinstance(self.prompt_tuning_init_method, PromptTuningInit):
            prompt_tuning_init_method = self.prompt_tuning_init_method.value
        else:
            prompt_tuning_init_method = self.prompt_tuning_init_method

        prompt_tuning_init_text: None | str | Unset
        if isinstance(self.prompt_tuning_init_text, Unset):
            prompt_tuning_init_text = UNSET
        else:
            prompt_tuning_init_text = self.prompt_tuning_init_text

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if num_virtual_tokens is not UNSET:
            field_dict["num_virtual_tokens"] = num_virtual_tokens
        if prompt_tuning_init_method is not UNSET:
            field_dict["prompt_tuning_init_method"] = prompt_tuning_init_method
        if prompt_tuning_init_text is not UNSET:
            field_dict["prompt_tuning_init_text"] = prompt_tuning_init_text

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_num_virtual_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        num_virtual_tokens = _parse_num_virtual_tokens(
            d.pop("num_virtual_tokens", UNSET)
        )

        def _parse_prompt_tuning_init_method(
            data: object,
        ) -> None | PromptTuningInit | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                prompt_tuning_init_method_type_0 = PromptTuningInit(data)

                return prompt_tuning_init_method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PromptTuningInit | Unset, data)

        prompt_tuning_init_method = _parse_prompt_tuning_init_method(
            d.pop("prompt_tuning_init_method", UNSET)
        )

        def _parse_prompt_tuning_init_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prompt_tuning_init_text = _parse_prompt_tuning_init_text(
            d.pop("prompt_tuning_init_text", UNSET)
        )

        tuning_config = cls(
            num_virtual_tokens=num_virtual_tokens,
            prompt_tuning_init_method=prompt_tuning_init_method,
            prompt_tuning_init_text=prompt_tuning_init_text,
        )

        return tuning_config
