from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_stream_source_classification_train_record import (
        DataStreamSourceClassificationTrainRecord,
    )


T = TypeVar("T", bound="ClassifierTrainParameters")


@_attrs_define
class ClassifierTrainParameters:
    """Training a text classifier: a linear head over a served embedding model's sentence vectors.

    Attributes:
        base_model (str): A model served here that embeds text (any `embedding` model, in process or remote). Example:
            all-minilm.
        train_stream (DataStreamSourceClassificationTrainRecord): The REST form of a Caikit data stream argument.
        batch_size (int | None | Unset):  Example: 16.
        encoder_learning_rate (float | None | Unset): Learning rate of the tuned encoder layers (default 0.00005);
            `learning_rate` is the
            head's. Example: 5e-05.
        learning_rate (float | None | Unset):  Example: 0.01.
        multi_label (bool | None | Unset): Score each label on its own (sigmoid) and answer every label scoring ≥ 0.5.
        num_epochs (int | None | Unset):  Example: 30.
        seed (int | None | Unset):  Example: 42.
        tune_encoder_layers (int | None | Unset): Also fine-tune the last this many layers of the base model's encoder
            with the head
            (default 0: the head only). Needs a `sentence-embeddings` base model served in process;
            the tuned model then carries its own copy of the encoder. Example: 1.
        val_stream (DataStreamSourceClassificationTrainRecord | None | Unset):
        validation_split (float | None | Unset): Share of training records held out for validation when there is no
            `val_stream`. Example: 0.1.
    """

    base_model: str
    train_stream: DataStreamSourceClassificationTrainRecord
    batch_size: int | None | Unset = UNSET
    encoder_learning_rate: float | None | Unset = UNSET
    learning_rate: float | None | Unset = UNSET
    multi_label: bool | None | Unset = UNSET
    num_epochs: int | None | Unset = UNSET
    seed: int | None | Unset = UNSET
    tune_encoder_layers: int | None | Unset = UNSET
    val_stream: DataStreamSourceClassificationTrainRecord | None | Unset = UNSET
    validation_split: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.data_stream_source_classification_train_record import (
            DataStreamSourceClassificationTrainRecord,
        )

        base_model = self.base_model

        train_stream = self.train_stream.to_dict()

        batch_size: int | None | Unset
        if isinstance(self.batch_size, Unset):
            batch_size = UNSET
        else:
            batch_size = self.batch_size

        encoder_learning_rate: float | None | Unset
        if isinstance(self.encoder_learning_rate, Unset):
            encoder_learning_rate = UNSET
        else:
            encoder_learning_rate = self.encoder_learning_rate

        learning_rate: float | None | Unset
        if isinstance(self.learning_rate, Unset):
            learning_rate = UNSET
        else:
            learning_rate = self.learning_rate

        multi_label: bool | None | Unset
        if isinstance(self.multi_label, Unset):
            multi_label = UNSET
        else:
            multi_label = self.multi_label

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

        tune_encoder_layers: int | None | Unset
        if isinstance(self.tune_encoder_layers, Unset):
            tune_encoder_layers = UNSET
        else:
            tune_encoder_layers = self.tune_encoder_layers

        val_stream: dict[str, Any] | None | Unset
        if isinstance(self.val_stream, Unset):
            val_stream = UNSET
        elif isinstance(self.val_stream, DataStreamSourceClassificationTrainRecord):
            val_stream = self.val_stream.to_dict()
        else:
            val_stream = self.val_stream

        validation_split: float | None | Unset
        if isinstance(self.validation_split, Unset):
            validation_split = UNSET
        else:
            validation_split = self.validation_split

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "base_model": base_model,
                "train_stream": train_stream,
            }
        )
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if encoder_learning_rate is not UNSET:
            field_dict["encoder_learning_rate"] = encoder_learning_rate
        if learning_rate is not UNSET:
            field_dict["learning_rate"] = learning_rate
        if multi_label is not UNSET:
            field_dict["multi_label"] = multi_label
        if num_epochs is not UNSET:
            field_dict["num_epochs"] = num_epochs
        if seed is not UNSET:
            field_dict["seed"] = seed
        if tune_encoder_layers is not UNSET:
            field_dict["tune_encoder_layers"] = tune_encoder_layers
        if val_stream is not UNSET:
            field_dict["val_stream"] = val_stream
        if validation_split is not UNSET:
            field_dict["validation_split"] = validation_split

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.data_stream_source_classification_train_record import (
            DataStreamSourceClassificationTrainRecord,
        )

        d = dict(src_dict)
        base_model = d.pop("base_model")

        train_stream = DataStreamSourceClassificationTrainRecord.from_dict(
            d.pop("train_stream")
        )

        def _parse_batch_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        batch_size = _parse_batch_size(d.pop("batch_size", UNSET))

        def _parse_encoder_learning_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        encoder_learning_rate = _parse_encoder_learning_rate(
            d.pop("encoder_learning_rate", UNSET)
        )

        def _parse_learning_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        learning_rate = _parse_learning_rate(d.pop("learning_rate", UNSET))

        def _parse_multi_label(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        multi_label = _parse_multi_label(d.pop("multi_label", UNSET))

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

        def _parse_tune_encoder_layers(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tune_encoder_layers = _parse_tune_encoder_layers(
            d.pop("tune_encoder_layers", UNSET)
        )

        def _parse_val_stream(
            data: object,
        ) -> DataStreamSourceClassificationTrainRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                val_stream_type_0 = DataStreamSourceClassificationTrainRecord.from_dict(
                    data
                )

                return val_stream_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DataStreamSourceClassificationTrainRecord | None | Unset, data)

        val_stream = _parse_val_stream(d.pop("val_stream", UNSET))

        def _parse_validation_split(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        validation_split = _parse_validation_split(d.pop("validation_split", UNSET))

        classifier_train_parameters = cls(
            base_model=base_model,
            train_stream=train_stream,
            batch_size=batch_size,
            encoder_learning_rate=encoder_learning_rate,
            learning_rate=learning_rate,
            multi_label=multi_label,
            num_epochs=num_epochs,
            seed=seed,
            tune_encoder_layers=tune_encoder_layers,
            val_stream=val_stream,
            validation_split=validation_split,
        )

        return classifier_train_parameters
