from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.classifier_train_parameters import ClassifierTrainParameters


T = TypeVar("T", bound="ClassifierTrainRequest")


@_attrs_define
class ClassifierTrainRequest:
    """`POST /api/v1/TextClassificationTaskClassifierTrain`.

    Attributes:
        model_name (str): The id the trained model is served under. Example: sentiment-tuned.
        parameters (ClassifierTrainParameters): Training a text classifier: a linear head over a served embedding
            model's sentence vectors.
    """

    model_name: str
    parameters: ClassifierTrainParameters

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
        from ..models.classifier_train_parameters import ClassifierTrainParameters

        d = dict(src_dict)
        model_name = d.pop("model_name")

        parameters = ClassifierTrainParameters.from_dict(d.pop("parameters"))

        classifier_train_request = cls(
            model_name=model_name,
            parameters=parameters,
        )

        return classifier_train_request
