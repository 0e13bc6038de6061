from enum import StrEnum


class ContentPartKind(StrEnum):
    TEXT = "text"

    def __str__(self) -> str:
        return str(self.value)
