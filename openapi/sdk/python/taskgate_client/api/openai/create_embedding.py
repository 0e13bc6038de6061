from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_embedding_request import CreateEmbeddingRequest
from ...models.create_embedding_response import CreateEmbeddingResponse
from ...models.open_ai_error import OpenAiError
from ...types import Response


def _get_kwargs(
    *,
    body: CreateEmbeddingRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/embeddings",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateEmbeddingResponse | OpenAiError | None:
    if response.status_code == 200:
        response_200 = CreateEmbeddingResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = OpenAiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OpenAiError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = OpenAiError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = OpenAiError.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = OpenAiError.from_dict(response.json())

        return response_408

    if response.status_code == 413:
        response_413 = OpenAiError.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = OpenAiError.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = OpenAiError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = OpenAiError.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = OpenAiError.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = OpenAiError.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = OpenAiError.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreateEmbeddingResponse | OpenAiError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEmbeddingRequest,
) -> Response[CreateEmbeddingResponse | OpenAiError]:
    """Creates an embedding vector for each input text.

    Args:
        body (CreateEmbeddingRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateEmbeddingResponse | OpenAiError]
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
    body: CreateEmbeddingRequest,
) -> CreateEmbeddingResponse | OpenAiError | None:
    """Creates an embedding vector for each input text.

    Args:
        body (CreateEmbeddingRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateEmbeddingResponse | OpenAiError
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEmbeddingRequest,
) -> Response[CreateEmbeddingResponse | OpenAiError]:
    """Creates an embedding vector for each input text.

    Args:
        body (CreateEmbeddingRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateEmbeddingResponse | OpenAiError]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEmbeddingRequest,
) -> CreateEmbeddingResponse | OpenAiError | None:
    """Creates an embedding vector for each input text.

    Args:
        body (CreateEmbeddingRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateEmbeddingResponse | OpenAiError
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
