from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.sentence_similarity_results import SentenceSimilarityResults
from ...models.sentence_similarity_tasks_request import SentenceSimilarityTasksRequest
from ...types import Response


def _get_kwargs(
    *,
    body: SentenceSimilarityTasksRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/task/sentence-similarity-tasks",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SentenceSimilarityResults | None:
    if response.status_code == 200:
        response_200 = SentenceSimilarityResults.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ErrorBody.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = ErrorBody.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | SentenceSimilarityResults]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SentenceSimilarityTasksRequest,
) -> Response[ErrorBody | SentenceSimilarityResults]:
    """Score several sentences against sentences

    Args:
        body (SentenceSimilarityTasksRequest): Score several source sentences against sentences.
            Example: {'inputs': {'sentences': ['Someone is playing an acoustic guitar.'],
            'source_sentences': ['A man is playing a guitar.']}, 'model_id': 'all-minilm'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SentenceSimilarityResults]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: SentenceSimilarityTasksRequest,
) -> ErrorBody | SentenceSimilarityResults | None:
    """Score several sentences against sentences

    Args:
        body (SentenceSimilarityTasksRequest): Score several source sentences against sentences.
            Example: {'inputs': {'sentences': ['Someone is playing an acoustic guitar.'],
            'source_sentences': ['A man is playing a guitar.']}, 'model_id': 'all-minilm'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SentenceSimilarityResults
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SentenceSimilarityTasksRequest,
) -> Response[ErrorBody | SentenceSimilarityResults]:
    """Score several sentences against sentences

    Args:
        body (SentenceSimilarityTasksRequest): Score several source sentences against sentences.
            Example: {'inputs': {'sentences': ['Someone is playing an acoustic guitar.'],
            'source_sentences': ['A man is playing a guitar.']}, 'model_id': 'all-minilm'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SentenceSimilarityResults]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SentenceSimilarityTasksRequest,
) -> ErrorBody | SentenceSimilarityResults | None:
    """Score several sentences against sentences

    Args:
        body (SentenceSimilarityTasksRequest): Score several source sentences against sentences.
            Example: {'inputs': {'sentences': ['Someone is playing an acoustic guitar.'],
            'source_sentences': ['A man is playing a guitar.']}, 'model_id': 'all-minilm'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SentenceSimilarityResults
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
