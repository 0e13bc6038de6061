from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.models_info import ModelsInfo
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    model_ids: list[str] | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_model_ids: list[str] | Unset = UNSET
    if not isinstance(model_ids, Unset):
        json_model_ids = model_ids

    params["model_ids"] = json_model_ids

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/info/models",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ModelsInfo | None:
    if response.status_code == 200:
        response_200 = ModelsInfo.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | ModelsInfo]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    model_ids: list[str] | Unset = UNSET,
) -> Response[ErrorBody | ModelsInfo]:
    """The served models the caller may use; `?model_ids=a&model_ids=b` selects some (404 names
    the first unknown one). Paths and metadata beyond health are for admin keys only.

    Args:
        model_ids (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ModelsInfo]
    """

    kwargs = _get_kwargs(
        model_ids=model_ids,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    model_ids: list[str] | Unset = UNSET,
) -> ErrorBody | ModelsInfo | None:
    """The served models the caller may use; `?model_ids=a&model_ids=b` selects some (404 names
    the first unknown one). Paths and metadata beyond health are for admin keys only.

    Args:
        model_ids (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ModelsInfo
    """

    return sync_detailed(
        client=client,
        model_ids=model_ids,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    model_ids: list[str] | Unset = UNSET,
) -> Response[ErrorBody | ModelsInfo]:
    """The served models the caller may use; `?model_ids=a&model_ids=b` selects some (404 names
    the first unknown one). Paths and metadata beyond health are for admin keys only.

    Args:
        model_ids (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ModelsInfo]
    """

    kwargs = _get_kwargs(
        model_ids=model_ids,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    model_ids: list[str] | Unset = UNSET,
) -> ErrorBody | ModelsInfo | None:
    """The served models the caller may use; `?model_ids=a&model_ids=b` selects some (404 names
    the first unknown one). Paths and metadata beyond health are for admin keys only.

    Args:
        model_ids (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ModelsInfo
    """

    return (
        await asyncio_detailed(
            client=client,
            model_ids=model_ids,
        )
    ).parsed
