from enum import StrEnum


class FinishReason(StrEnum):
    CANCELLED = "CANCELLED"
    EOS_TOKEN = "EOS_TOKEN"
    ERROR = "ERROR"
    MAX_TOKENS = "MAX_TOKENS"
    NOT_FINISHED = "NOT_FINISHED"
    STOP_SEQUENCE = "STOP_SEQUENCE"
    TIME_LIMIT = "TIME_LIMIT"
    TOKEN_LIMIT = "TOKEN_LIMIT"

    def __str__(self) -> str:
        return str(self.value)
