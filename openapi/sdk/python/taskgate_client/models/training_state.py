from enum import StrEnum


class TrainingState(StrEnum):
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"
    ERRORED = "ERRORED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"

    def __str__(self) -> str:
        return str(self.value)
