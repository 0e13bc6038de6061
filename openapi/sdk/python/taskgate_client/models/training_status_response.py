from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.training_state import TrainingState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.training_progress import TrainingProgress


T = TypeVar("T", bound="TrainingStatusResponse")


@_attrs_define
class TrainingStatusResponse:
    """`GET /management/trainings?training_id=…`: Caikit's status fields plus progress.

    Attributes:
        model_name (str):
        progress (TrainingProgress): How far a job has come.
        reasons (list[str]): Why it errored or was canceled.
        state (TrainingState): Where a training job is in its life.
        submission_timestamp (str): RFC 3339, UTC. Example: 2026-11-28T09:00:00.000Z.
        training_id (str):
        completion_timestamp (None | str | Unset): When the job reached a terminal state.
    """

    model_name: str
    progress: TrainingProgress
    reasons: list[str]
    state: TrainingState
    submission_timestamp: str
    training_id: str
    completion_timestamp: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        progress = self.progress.to_dict()

        reasons = self.reasons

        state = self.state.value

        submission_timestamp = self.submission_timestamp

        training_id = self.training_id

        completion_timestamp: None | str | Unset
        if isinstance(self.completion_timestamp, Unset):
            completion_timestamp = UNSET
        else:
            completion_timestamp = self.completion_timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_name": model_name,
                "progress": progress,
                "reasons": reasons,
                "state": state,
                "submission_timestamp": submission_timestamp,
                "training_id": training_id,
            }
        )
        if completion_timestamp is not UNSET:
            field_dict["completion_timestamp"] = completion_timestamp

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.training_progress import TrainingProgress

        d = dict(src_dict)
        model_name = d.pop("model_name")

        progress = TrainingProgress.from_dict(d.pop("progress"))

        reasons = cast(list[str], d.pop("reasons"))

        state = TrainingState(d.pop("state"))

        submission_timestamp = d.pop("submission_timestamp")

        training_id = d.pop("training_id")

        def _parse_completion_timestamp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        completion_timestamp = _parse_completion_timestamp(
            d.pop("completion_timestamp", UNSET)
        )

        training_status_response = cls(
            model_name=model_name,
            progress=progress,
            reasons=reasons,
            state=state,
            submission_timestamp=submission_timestamp,
            training_id=training_id,
            completion_timestamp=completion_timestamp,
        )

        training_status_response.additional_properties = d
        return training_status_response

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
