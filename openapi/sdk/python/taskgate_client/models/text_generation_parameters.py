from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.decoding_method import DecodingMethod
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.exponential_decay_length_penalty import ExponentialDecayLengthPenalty


T = TypeVar("T", bound="TextGenerationParameters")


@_attrs_define
class TextGenerationParameters:
    """Optional text-generation parameters (Caikit / TGIS names and rules).

    Attributes:
        decoding_method (DecodingMethod | None | Unset):
        exponential_decay_length_penalty (ExponentialDecayLengthPenalty | None | Unset):
        generated_tokens (bool | None | Unset): Return details of the generated tokens.
        include_stop_sequence (bool | None | Unset): Keep the matched stop sequence at the end of the output (default
            true, as in TGIS).
        input_tokens (bool | None | Unset): Return details of the input tokens.
        max_new_tokens (int | None | Unset): Maximum number of new tokens (default 20). Example: 20.
        max_time (float | None | Unset): Wall-clock limit in seconds from the start of prompt processing; generation
            ends with
            `TIME_LIMIT`. Example: 10.0.
        min_new_tokens (int | None | Unset): Minimum number of new tokens before EOS or stop sequences may end
            generation (default 0). Example: 0.
        preserve_input_text (bool | None | Unset): Prefix the output with the input text.
        repetition_penalty (float | None | Unset): Penalise tokens already present (1 = off, > 1 discourages repeats).
            Example: 1.1.
        seed (int | None | Unset): Seed for SAMPLING; the same seed gives the same text. Example: 42.
        stop_sequences (list[str] | None | Unset): Generation stops when the output ends with one of these. Example:
            ['\\n\\n'].
        temperature (float | None | Unset): Sampling temperature, at least 0.05. Example: 0.7.
        token_logprobs (bool | None | Unset): Include log-probabilities in token details.
        token_ranks (bool | None | Unset): Include ranks in token details.
        top_k (int | None | Unset): Sample from the k most likely tokens only (0 = off). Example: 50.
        top_p (float | None | Unset): Sample from the smallest set of tokens whose probabilities add up to `top_p`.
            Example: 0.9.
        truncate_input_tokens (int | None | Unset): Keep only the last N input tokens; 0 (default) rejects inputs longer
            than the model context. Example: 0.
        typical_p (float | None | Unset): Typical sampling mass. Example: 0.95.
    """

    decoding_method: DecodingMethod | None | Unset = UNSET
    exponential_decay_length_penalty: ExponentialDecayLengthPenalty | None | Unset = (
        UNSET
    )
    generated_tokens: bool | None | Unset = UNSET
    include_stop_sequence: bool | None | Unset = UNSET
    input_tokens: bool | None | Unset = UNSET
    max_new_tokens: int | None | Unset = UNSET
    max_time: float | None | Unset = UNSET
    min_new_tokens: int | None | Unset = UNSET
    preserve_input_text: bool | None | Unset = UNSET
    repetition_penalty: float | None | Unset = UNSET
    seed: int | None | Unset = UNSET
    stop_sequences: list[str] | None | Unset = UNSET
    temperature: float | None | Unset = UNSET
    token_logprobs: bool | None | Unset = UNSET
    token_ranks: bool | None | Unset = UNSET
    top_k: int | None | Unset = UNSET
    top_p: float | None | Unset = UNSET
    truncate_input_tokens: int | None | Unset = UNSET
    typical_p: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.exponential_decay_length_penalty import (
            ExponentialDecayLengthPenalty,
        )

        decoding_method: None | str | Unset
        if isinstance(self.decoding_method, Unset):
            decoding_method = UNSET
        elif isinstance(self.decoding_method, DecodingMethod):
            decoding_method = self.decoding_method.value
        else:
            decoding_method = self.decoding_method

        exponential_decay_length_penalty: dict[str, Any] | None | Unset
        if isinstance(self.exponential_decay_length_penalty, Unset):
            exponential_decay_length_penalty = UNSET
        elif isinstance(
            self.exponential_decay_length_penalty, ExponentialDecayLengthPenalty
        ):
            exponential_decay_length_penalty = (
                self.exponential_decay_length_penalty.to_dict()
            )
        else:
            exponential_decay_length_penalty = self.exponential_decay_length_penalty

        generated_tokens: bool | None | Unset
        if isinstance(self.generated_tokens, Unset):
            generated_tokens = UNSET
        else:
            generated_tokens = self.generated_tokens

        include_stop_sequence: bool | None | Unset
        if isinstance(self.include_stop_sequence, Unset):
            include_stop_sequence = UNSET
        else:
            include_stop_sequence = self.include_stop_sequence

        input_tokens: bool | None | Unset
        if isinstance(self.input_tokens, Unset):
            input_tokens = UNSET
        else:
            input_tokens = self.input_tokens

        max_new_tokens: int | None | Unset
        if isinstance(self.max_new_tokens, Unset):
            max_new_tokens = UNSET
        else:
            max_new_tokens = self.max_new_tokens

        max_time: float | None | Unset
        if isinstance(self.max_time, Unset):
            max_time = UNSET
        else:
            max_time = self.max_time

        min_new_tokens: int | None | Unset
        if isinstance(self.min_new_tokens, Unset):
            min_new_tokens = UNSET
        else:
            min_new_tokens = self.min_new_tokens

        preserve_input_text: bool | None | Unset
        if isinstance(self.preserve_input_text, Unset):
            preserve_input_text = UNSET
        else:
            preserve_input_text = self.preserve_input_text

        repetition_penalty: float | None | Unset
        if isinstance(self.repetition_penalty, Unset):
            repetition_penalty = UNSET
        else:
            repetition_penalty = self.repetition_penalty

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        stop_sequences: list[str] | None | Unset
        if isinstance(self.stop_sequences, Unset):
            stop_sequences = UNSET
        elif isinstance(self.stop_sequences, list):
            stop_sequences = self.stop_sequences

        else:
            stop_sequences = self.stop_sequences

        temperature: float | None | Unset
        if isinstance(self.temperature, Unset):
            temperature = UNSET
        else:
            temperature = self.temperature

        token_logprobs: bool | None | Unset
        if isinstance(self.token_logprobs, Unset):
            token_logprobs = UNSET
        else:
            token_logprobs = self.token_logprobs

        token_ranks: bool | None | Unset
        if isinstance(self.token_ranks, Unset):
            token_ranks = UNSET
        else:
            token_ranks = self.token_ranks

        top_k: int | None | Unset
        if isinstance(self.top_k, Unset):
            top_k = UNSET
        else:
            top_k = self.top_k

        top_p: float | None | Unset
        if isinstance(self.top_p, Unset):
            top_p = UNSET
        else:
            top_p = self.top_p

        truncate_input_tokens: int | None | Unset
        if isinstance(self.truncate_input_tokens, Unset):
            truncate_input_tokens = UNSET
        else:
            truncate_input_tokens = self.truncate_input_tokens

        typical_p: float | None | Unset
        if isinstance(self.typical_p, Unset):
            typical_p = UNSET
        else:
            typical_p = self.typical_p

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if decoding_method is not UNSET:
            field_dict["decoding_method"] = decoding_method
        if exponential_decay_length_penalty is not UNSET:
            field_dict["exponential_decay_length_penalty"] = (
                exponential_decay_length_penalty
            )
        if generated_tokens is not UNSET:
            field_dict["generated_tokens"] = generated_tokens
        if include_stop_sequence is not UNSET:
            field_dict["include_stop_sequence"] = include_stop_sequence
        if input_tokens is not UNSET:
            field_dict["input_tokens"] = input_tokens
        if max_new_tokens is not UNSET:
            field_dict["max_new_tokens"] = max_new_tokens
        if max_time is not UNSET:
            field_dict["max_time"] = max_time
        if min_new_tokens is not UNSET:
            field_dict["min_new_tokens"] = min_new_tokens
        if preserve_input_text is not UNSET:
            field_dict["preserve_input_text"] = preserve_input_text
        if repetition_penalty is not UNSET:
            field_dict["repetition_penalty"] = repetition_penalty
        if seed is not UNSET:
            field_dict["seed"] = seed
        if stop_sequences is not UNSET:
            field_dict["stop_sequences"] = stop_sequences
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if token_logprobs is not UNSET:
            field_dict["token_logprobs"] = token_logprobs
        if token_ranks is not UNSET:
            field_dict["token_ranks"] = token_ranks
        if top_k is not UNSET:
            field_dict["top_k"] = top_k
        if top_p is not UNSET:
            field_dict["top_p"] = top_p
        if truncate_input_tokens is not UNSET:
            field_dict["truncate_input_tokens"] = truncate_input_tokens
        if typical_p is not UNSET:
            field_dict["typical_p"] = typical_p

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.exponential_decay_length_penalty import (
            ExponentialDecayLengthPenalty,
        )

        d = dict(src_dict)

        def _parse_decoding_method(data: object) -> DecodingMethod | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decoding_method_type_0 = DecodingMethod(data)

                return decoding_method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DecodingMethod | None | Unset, data)

        decoding_method = _parse_decoding_method(d.pop("decoding_method", UNSET))

        def _parse_exponential_decay_length_penalty(
            data: object,
        ) -> ExponentialDecayLengthPenalty | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                exponential_decay_length_penalty_type_0 = (
                    ExponentialDecayLengthPenalty.from_dict(data)
                )

                return exponential_decay_length_penalty_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExponentialDecayLengthPenalty | None | Unset, data)

        exponential_decay_length_penalty = _parse_exponential_decay_length_penalty(
            d.pop("exponential_decay_length_penalty", UNSET)
        )

        def _parse_generated_tokens(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        generated_tokens = _parse_generated_tokens(d.pop("generated_tokens", UNSET))

        def _parse_include_stop_sequence(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        include_stop_sequence = _parse_include_stop_sequence(
            d.pop("include_stop_sequence", UNSET)
        )

        def _parse_input_tokens(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        input_tokens = _parse_input_tokens(d.pop("input_tokens", UNSET))

        def _parse_max_new_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_new_tokens = _parse_max_new_tokens(d.pop("max_new_tokens", UNSET))

        def _parse_max_time(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_time = _parse_max_time(d.pop("max_time", UNSET))

        def _parse_min_new_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        min_new_tokens = _parse_min_new_tokens(d.pop("min_new_tokens", UNSET))

        def _parse_preserve_input_text(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        preserve_input_text = _parse_preserve_input_text(
            d.pop("preserve_input_text", UNSET)
        )

        def _parse_repetition_penalty(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        repetition_penalty = _parse_repetition_penalty(
            d.pop("repetition_penalty", UNSET)
        )

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        def _parse_stop_sequences(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                stop_sequences_type_0 = cast(list[str], data)

                return stop_sequences_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        stop_sequences = _parse_stop_sequences(d.pop("stop_sequences", UNSET))

        def _parse_temperature(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        temperature = _parse_temperature(d.pop("temperature", UNSET))

        def _parse_token_logprobs(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        token_logprobs = _parse_token_logprobs(d.pop("token_logprobs", UNSET))

        def _parse_token_ranks(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        token_ranks = _parse_token_ranks(d.pop("token_ranks", UNSET))

        def _parse_top_k(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        top_k = _parse_top_k(d.pop("top_k", UNSET))

        def _parse_top_p(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        top_p = _parse_top_p(d.pop("top_p", UNSET))

        def _parse_truncate_input_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        truncate_input_tokens = _parse_truncate_input_tokens(
            d.pop("truncate_input_tokens", UNSET)
        )

        def _parse_typical_p(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        typical_p = _parse_typical_p(d.pop("typical_p", UNSET))

        text_generation_parameters = cls(
            decoding_method=decoding_method,
            exponential_decay_length_penalty=exponential_decay_length_penalty,
            generated_tokens=generated_tokens,
            include_stop_sequence=include_stop_sequence,
            input_tokens=input_tokens,
            max_new_tokens=max_new_tokens,
            max_time=max_time,
            min_new_tokens=min_new_tokens,
            preserve_input_text=preserve_input_text,
            repetition_penalty=repetition_penalty,
            seed=seed,
            stop_sequences=stop_sequences,
            temperature=temperature,
            token_logprobs=token_logprobs,
            token_ranks=token_ranks,
            top_k=top_k,
            top_p=top_p,
            truncate_input_tokens=truncate_input_tokens,
            typical_p=typical_p,
        )

        return text_generation_parameters
