from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.training_status_response import TrainingStatusResponse
from ...types import UNSET, Response


def _get_kwargs(
    *,
    training_id: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["training_id"] = training_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/management/trainings/model",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | TrainingStatusResponse | None:
    if response.status_code == 200:
        response_200 = TrainingStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | TrainingStatusResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    training_id: str,
) -> Response[ErrorBody | TrainingStatusResponse]:
    """Deletes an ended job and its trained model: the model stops being served (calls already
    running finish) and the job's files are removed. A queued or running job must be canceled
    first.

    Args:
        training_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TrainingStatusResponse]
    """

    kwargs = _get_kwargs(
        training_id=training_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    training_id: str,
) -> ErrorBody | TrainingStatusResponse | None:
    """Deletes an ended job and its trained model: the model stops being served (calls already
    running finish) and the job's files are removed. A queued or running job must be canceled
    first.

    Args:
        training_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TrainingStatusResponse
    """

    return sync_detailed(
        client=client,
        training_id=training_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    training_id: str,
) -> Response[ErrorBody | TrainingStatusResponse]:
    """Deletes an ended job and its trained model: the model stops being served (calls already
    running finish) and the job's files are removed. A queued or running job must be canceled
    first.

    Args:
        training_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TrainingStatusResponse]
    """

    kwargs = _get_kwargs(
        training_id=training_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    training_id: str,
) -> ErrorBody | TrainingStatusResponse | None:
    """Deletes an ended job and its trained model: the model stops being served (calls already
    running finish) and the job's files are removed. A queued or running job must be canceled
    first.

    Args:
        training_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TrainingStatusResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            training_id=training_id,
        )
    ).parsed
