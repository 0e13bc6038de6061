from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.prompt_tuning_train_parameters import PromptTuningTrainParameters


T = TypeVar("T", bound="PromptTuningTrainRequest")


@_attrs_define
class PromptTuningTrainRequest:
    """`POST /api/v1/TextGenerationTaskPeftPromptTuningTrain`.

    Attributes:
        model_name (str): The id the tuned model is served under. Example: sentiment-prompt.
        parameters (PromptTuningTrainParameters): Prompt tuning: a soft prompt learned for a served in-process text-
            generation model, which
            stays frozen.
    """

    model_name: str
    parameters: PromptTuningTrainParameters

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model_name": model_name,
                "parameters": parameters,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.prompt_tuning_train_parameters import PromptTuningTrainParameters

        d = dict(src_dict)
        model_name = d.pop("model_name")

        parameters = PromptTuningTrainParameters.from_dict(d.pop("parameters"))

        prompt_tuning_train_request = cls(
            model_name=model_name,
            parameters=parameters,
        )

        return prompt_tuning_train_request
