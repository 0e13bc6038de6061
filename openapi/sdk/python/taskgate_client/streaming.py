"""taskgate's server-sent event streams as iterators.

Hand-written beside the generated code (scripts/gen-sdks keeps this file): the generator reads a
`text/event-stream` answer whole and returns no events. `stream_text_generation` and
`training_events` yield typed events as they arrive, and raise `TaskgateError` for a refusal
(any status but 200) or for an `event: error` sent after the stream started.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx

from .client import AuthenticatedClient, Client
from .models.error_body import ErrorBody
from .models.generated_text_stream_result import GeneratedTextStreamResult
from .models.text_generation_request import TextGenerationRequest
from .models.training_status_response import TrainingStatusResponse

GENERATION_PATH = "/api/v1/task/server-streaming-text-generation"
TRAINING_EVENTS_PATH = "/management/trainings/events"


class TaskgateError(Exception):
    """A refusal or a failure, with taskgate's error body when the server sent one. `status` is
    the HTTP status the failure stands for: the answer's, or for a failure after the stream
    started (whose answer was a 200) the error body's `code`."""

    def __init__(self, status: int, body: ErrorBody | None, text: str = ""):
        self.status = status
        self.body = body
        message = body.details if body is not None else text
        super().__init__(f"{status}: {message}")

    @classmethod
    def from_response(cls, response: httpx.Response) -> TaskgateError:
        try:
            body = ErrorBody.from_dict(response.json())
        except (ValueError, KeyError, TypeError):
            body = None
        return cls(response.status_code, body, response.text)


class _Events:
    """The event stream's framing: lines in, `(event, data)` pairs out, one per blank line."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, Any] | None:
        if line == "":
            if not self.data:
                self.event = "message"
                return None
            event, data = self.event, json.loads("\n".join(self.data))
            self.event, self.data = "message", []
            return event, data
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.event = value
        elif field == "data":
            self.data.append(value)
        return None


def parse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """`(event, data)` for each complete event in `lines`; an unfinished last event is dropped,
    as the event-stream format says."""
    events = _Events()
    for line in lines:
        parsed = events.feed(line)
        if parsed is not None:
            yield parsed


def _typed(event: str, data: Any, parse: Any) -> Any:
    if event == "error":
        # The answer's status was 200; the failure's own is in its body.
        body = ErrorBody.from_dict(data)
        raise TaskgateError(body.code, body)
    return parse(data)


def _events(client: Client | AuthenticatedClient, method: str, path: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    headers = {"Accept": "text/event-stream"}
    with client.get_httpx_client().stream(method, path, headers=headers, **kwargs) as response:
        if response.status_code != 200:
            response.read()
            raise TaskgateError.from_response(response)
        yield from parse_events(response.iter_lines())


async def _aevents(
    client: Client | AuthenticatedClient, method: str, path: str, **kwargs: Any
) -> AsyncIterator[tuple[str, Any]]:
    headers = {"Accept": "text/event-stream"}
    async with client.get_async_httpx_client().stream(method, path, headers=headers, **kwargs) as response:
        if response.status_code != 200:
            await response.aread()
            raise TaskgateError.from_response(response)
        events = _Events()
        async for line in response.aiter_lines():
            parsed = events.feed(line)
            if parsed is not None:
                yield parsed


def stream_text_generation(
    client: Client | AuthenticatedClient, body: TextGenerationRequest
) -> Iterator[GeneratedTextStreamResult]:
    """`POST /api/v1/task/server-streaming-text-generation`, one result per event."""
    for event, data in _events(client, "POST", GENERATION_PATH, json=body.to_dict()):
        yield _typed(event, data, GeneratedTextStreamResult.from_dict)


async def astream_text_generation(
    client: Client | AuthenticatedClient, body: TextGenerationRequest
) -> AsyncIterator[GeneratedTextStreamResult]:
    """`stream_text_generation` on the client's async transport."""
    async for event, data in _aevents(client, "POST", GENERATION_PATH, json=body.to_dict()):
        yield _typed(event, data, GeneratedTextStreamResult.from_dict)


def training_events(client: Client | AuthenticatedClient, training_id: str) -> Iterator[TrainingStatusResponse]:
    """`GET /management/trainings/events`: the job's status at each change, until its final
    state."""
    params = {"training_id": training_id}
    for event, data in _events(client, "GET", TRAINING_EVENTS_PATH, params=params):
        yield _typed(event, data, TrainingStatusResponse.from_dict)


__all__ = [
    "TaskgateError",
    "astream_text_generation",
    "parse_events",
    "stream_text_generation",
    "training_events",
]
