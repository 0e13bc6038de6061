from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.peft_tuning_type import PeftTuningType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_stream_source_generation_train_record import (
        DataStreamSourceGenerationTrainRecord,
    )
    from ..models.tuning_config import TuningConfig


T = TypeVar("T", bound="PromptTuningTrainParameters")


@_attrs_define
class PromptTuningTrainParameters:
    """Prompt tuning: a soft prompt learned for a served in-process text-generation model, which
    stays frozen.

        Attributes:
            base_model (str): A `text-generation` model served in process here (its weights are needed). Example: smollm2.
            train_stream (DataStreamSourceGenerationTrainRecord): The REST form of a Caikit data stream argument.
            batch_size (int | None | Unset):  Example: 8.
            learning_rate (float | None | Unset):  Example: 0.03.
            max_source_length (int | None | Unset): Most tokens of a verbalized input; longer inputs are cut (default 256).
                Example: 256.
            max_target_length (int | None | Unset): Most tokens of an output (default 128). Example: 128.
            num_epochs (int | None | Unset):  Example: 20.
            seed (int | None | Unset):  Example: 42.
            tuning_config (None | TuningConfig | Unset):
            tuning_type (None | PeftTuningType | Unset):
            val_stream (DataStreamSourceGenerationTrainRecord | None | Unset):
            verbalizer (None | str | Unset): The template each input is written into, training and serving alike; must
                contain
                `{{input}}` (default `{{input}}`). Example: Review: {{input}}
                Sentiment:.
    """

    base_model: str
    train_stream: DataStreamSourceGenerationTrainRecord
    batch_size: int | None | Unset = UNSET
    learning_rate: float | None | Unset = UNSET
    max_source_length: int | None | Unset = UNSET
    max_target_length: int | None | Unset = UNSET
    num_epochs: int | None | Unset = UNSET
    seed: int | None | Unset = UNSET
    tuning_config: None | TuningConfig | Unset = UNSET
    tuning_type: None | PeftTuningType | Unset = UNSET
    val_stream: DataStreamSourceGenerationTrainRecord | None | Unset = UNSET
    verbalizer: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.data_stream_source_generation_train_record import (
            DataStreamSourceGenerationTrainRecord,
        )
        from ..models.tuning_config import TuningConfig

        base_model = self.base_model

        train_stream = self.train_stream.to_dict()

        batch_size: int | None | Unset
        if isinstance(self.batch_size, Unset):
            batch_size = UNSET
        else:
            batch_size = self.batch_size

        learning_rate: float | None | Unset
        if isinstance(self.learning_rate, Unset):
            learning_rate = UNSET
        else:
            learning_rate = self.learning_rate

        max_source_length: int | None | Unset
        if isinstance(self.max_source_length, Unset):
            max_source_length = UNSET
        else:
            max_source_length = self.max_source_length

        max_target_length: int | None | Unset
        if isinstance(self.max_target_length, Unset):
            max_target_length = UNSET
        else:
            max_target_length = self.max_target_length

        num_epochs: int | None | Unset
        if isinstance(self.num_epochs, Unset):
            num_epochs = UNSET
        else:
            num_epochs = self.num_epochs

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        tuning_config: dict[str, Any] | None | Unset
        if isinstance(self.tuning_config, Unset):
            tuning_config = UNSET
        elif isinstance(self.tuning_config, TuningConfig):
            tuning_config = self.tuning_config.to_dict()
        else:
            tuning_config = self.tuning_config

        tuning_type: None | str | Unset
        if isinstance(self.tuning_type, Unset):
            tuning_type = UNSET
        elif isinstance(self.tuning_type, PeftTuningType):
            tuning_type = self.tuning_type.value
        else:
            tuning_type = self.tuning_type

        val_stream: dict[str, Any] | None | Unset
        if isinstance(self.val_stream, Unset):
            val_stream = UNSET
        elif isinstance(self.val_stream, DataStreamSourceGenerationTrainRecord):
            val_stream = self.val_stream.to_dict()
        else:
            val_stream = self.val_stream

        verbalizer: None | str | Unset
        if isinstance(self.verbalizer, Unset):
            verbalizer = UNSET
        else:
            verbalizer = self.verbalizer

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "base_model": base_model,
                "train_stream": train_stream,
            }
        )
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if learning_rate is not UNSET:
            field_dict["learning_rate"] = learning_rate
        if max_source_length is not UNSET:
            field_dict["max_source_length"] = max_source_length
        if max_target_length is not UNSET:
            field_dict["max_target_length"] = max_target_length
        if num_epochs is not UNSET:
            field_dict["num_epochs"] = num_epochs
        if seed is not UNSET:
            field_dict["seed"] = seed
        if tuning_config is not UNSET:
            field_dict["tuning_config"] = tuning_config
        if tuning_type is not UNSET:
            field_dict["tuning_type"] = tuning_type
        if val_stream is not UNSET:
            field_dict["val_stream"] = val_stream
        if verbalizer is not UNSET:
            field_dict["verbalizer"] = verbalizer

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.data_stream_source_generation_train_record import (
            DataStreamSourceGenerationTrainRecord,
        )
        from ..models.tuning_config import TuningConfig

        d = dict(src_dict)
        base_model = d.pop("base_model")

        train_stream = DataStreamSourceGenerationTrainRecord.from_dict(
            d.pop("train_stream")
        )

        def _parse_batch_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        batch_size = _parse_batch_size(d.pop("batch_size", UNSET))

        def _parse_learning_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        learning_rate = _parse_learning_rate(d.pop("learning_rate", UNSET))

        def _parse_max_source_length(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_source_length = _parse_max_source_length(d.pop("max_source_length", UNSET))

        def _parse_max_target_length(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_target_length = _parse_max_target_length(d.pop("max_target_length", UNSET))

        def _parse_num_epochs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        num_epochs = _parse_num_epochs(d.pop("num_epochs", UNSET))

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        def _parse_tuning_config(data: object) -> None | TuningConfig | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tuning_config_type_0 = TuningConfig.from_dict(data)

                return tuning_config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TuningConfig | Unset, data)

        tuning_config = _parse_tuning_config(d.pop("tuning_config", UNSET))

        def _parse_tuning_type(data: object) -> None | PeftTuningType | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                tuning_type_type_0 = PeftTuningType(data)

                return tuning_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PeftTuningType | Unset, data)

        tuning_type = _parse_tuning_type(d.pop("tuning_type", UNSET))

        def _parse_val_stream(
            data: object,
        ) -> DataStreamSourceGenerationTrainRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                val_stream_type_0 = DataStreamSourceGenerationTrainRecord.from_dict(
                    data
                )

                return val_stream_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DataStreamSourceGenerationTrainRecord | None | Unset, data)

        val_stream = _parse_val_stream(d.pop("val_stream", UNSET))

        def _parse_verbalizer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        verbalizer = _parse_verbalizer(d.pop("verbalizer", UNSET))

        prompt_tuning_train_parameters = cls(
            base_model=base_model,
            train_stream=train_stream,
            batch_size=batch_size,
            learning_rate=learning_rate,
            max_source_length=max_source_length,
            max_target_length=max_target_length,
            num_epochs=num_epochs,
            seed=seed,
            tuning_config=tuning_config,
            tuning_type=tuning_type,
            val_stream=val_stream,
            verbalizer=verbalizer,
        )

        return prompt_tuning_train_parameters
