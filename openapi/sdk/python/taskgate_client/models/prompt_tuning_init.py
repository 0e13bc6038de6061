from enum import StrEnum


class PromptTuningInit(StrEnum):
    RANDOM = "RANDOM"
    TEXT = "TEXT"

    def __str__(self) -> str:
        return str(self.value)
