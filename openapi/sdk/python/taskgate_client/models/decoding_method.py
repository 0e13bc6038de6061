from enum import StrEnum


class DecodingMethod(StrEnum):
    GREEDY = "GREEDY"
    SAMPLING = "SAMPLING"

    def __str__(self) -> str:
        return str(self.value)
