from enum import StrEnum


class PeftTuningType(StrEnum):
    PROMPT_TUNING = "PROMPT_TUNING"

    def __str__(self) -> str:
        return str(self.value)
