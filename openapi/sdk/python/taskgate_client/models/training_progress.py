from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TrainingProgress")


@_attrs_define
class TrainingProgress:
    """How far a job has come.

    Attributes:
        epoch (int):
        num_epochs (int):
        step (int):
        total_steps (int):
        initial_validation_loss (float | None | Unset): Validation loss before training, to compare `validation_loss`
            with.
        loss (float | None | Unset): Training loss of the last step.
        validation_accuracy (float | None | Unset):
        validation_loss (float | None | Unset): After the last epoch with validation data.
    """

    epoch: int
    num_epochs: int
    step: int
    total_steps: int
    initial_validation_loss: float | None | Unset = UNSET
    loss: float | None | Unset = UNSET
    validation_accuracy: float | None | Unset = UNSET
    validation_loss: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        epoch = self.epoch

        num_epochs = self.num_epochs

        step = self.step

        total_steps = self.total_steps

        initial_validation_loss: float | None | Unset
        if isinstance(self.initial_validation_loss, Unset):
            initial_validation_loss = UNSET
        else:
            initial_validation_loss = self.initial_validation_loss

        loss: float | None | Unset
        if isinstance(self.loss, Unset):
            loss = UNSET
        else:
            loss = self.loss

        validation_accuracy: float | None | Unset
        if isinstance(self.validation_accuracy, Unset):
            validation_accuracy = UNSET
        else:
            validation_accuracy = self.validation_accuracy

        validation_loss: float | None | Unset
        if isinstance(self.validation_loss, Unset):
            validation_loss = UNSET
        else:
            validation_loss = self.validation_loss

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "epoch": epoch,
                "num_epochs": num_epochs,
                "step": step,
                "total_steps": total_steps,
            }
        )
        if initial_validation_loss is not UNSET:
            field_dict["initial_validation_loss"] = initial_validation_loss
        if loss is not UNSET:
            field_dict["loss"] = loss
        if validation_accuracy is not UNSET:
            field_dict["validation_accuracy"] = validation_accuracy
        if validation_loss is not UNSET:
            field_dict["validation_loss"] = validation_loss

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        epoch = d.pop("epoch")

        num_epochs = d.pop("num_epochs")

        step = d.pop("step")

        total_steps = d.pop("total_steps")

        def _parse_initial_validation_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        initial_validation_loss = _parse_initial_validation_loss(
            d.pop("initial_validation_loss", UNSET)
        )

        def _parse_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        loss = _parse_loss(d.pop("loss", UNSET))

        def _parse_validation_accuracy(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        validation_accuracy = _parse_validation_accuracy(
            d.pop("validation_accuracy", UNSET)
        )

        def _parse_validation_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        validation_loss = _parse_validation_loss(d.pop("validation_loss", UNSET))

        training_progress = cls(
            epoch=epoch,
            num_epochs=num_epochs,
            step=step,
            total_steps=total_steps,
            initial_validation_loss=initial_validation_loss,
            loss=loss,
            validation_accuracy=validation_accuracy,
            validation_loss=validation_loss,
        )

        training_progress.additional_properties = d
        return training_progress

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
