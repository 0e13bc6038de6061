from enum import StrEnum


class LoadPolicy(StrEnum):
    EAGER = "eager"
    LAZY = "lazy"

    def __str__(self) -> str:
        return str(self.value)
