from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.deploy_model_request import DeployModelRequest
from ...models.error_body import ErrorBody
from ...models.model_info import ModelInfo
from ...types import Response


def _get_kwargs(
    *,
    body: DeployModelRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/management/models",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ModelInfo | None:
    if response.status_code == 200:
        response_200 = ModelInfo.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | ModelInfo]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: DeployModelRequest,
) -> Response[ErrorBody | ModelInfo]:
    """Deploy a model: Caikit's form (`model_files`, written into `models_dir/<model_id>/`) or
    taskgate's (`module` with `config`, or `backend`, as in a config file). An eager model is
    loaded before the answer; one that fails to load is not kept. The deployment survives
    restarts.

    Args:
        body (DeployModelRequest): Deploys a model while serving. Caikit's form gives
            `model_files` (written into
            `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
            model as a config file's `models:` entry does: `module` (with `config`) or `backend`.
            Paths
            in either form must stay inside `models_dir`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ModelInfo]
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
    body: DeployModelRequest,
) -> ErrorBody | ModelInfo | None:
    """Deploy a model: Caikit's form (`model_files`, written into `models_dir/<model_id>/`) or
    taskgate's (`module` with `config`, or `backend`, as in a config file). An eager model is
    loaded before the answer; one that fails to load is not kept. The deployment survives
    restarts.

    Args:
        body (DeployModelRequest): Deploys a model while serving. Caikit's form gives
            `model_files` (written into
            `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
            model as a config file's `models:` entry does: `module` (with `config`) or `backend`.
            Paths
            in either form must stay inside `models_dir`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ModelInfo
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: DeployModelRequest,
) -> Response[ErrorBody | ModelInfo]:
    """Deploy a model: Caikit's form (`model_files`, written into `models_dir/<model_id>/`) or
    taskgate's (`module` with `config`, or `backend`, as in a config file). An eager model is
    loaded before the answer; one that fails to load is not kept. The deployment survives
    restarts.

    Args:
        body (DeployModelRequest): Deploys a model while serving. Caikit's form gives
            `model_files` (written into
            `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
            model as a config file's `models:` entry does: `module` (with `config`) or `backend`.
            Paths
            in either form must stay inside `models_dir`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ModelInfo]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: DeployModelRequest,
) -> ErrorBody | ModelInfo | None:
    """Deploy a model: Caikit's form (`model_files`, written into `models_dir/<model_id>/`) or
    taskgate's (`module` with `config`, or `backend`, as in a config file). An eager model is
    loaded before the answer; one that fails to load is not kept. The deployment survives
    restarts.

    Args:
        body (DeployModelRequest): Deploys a model while serving. Caikit's form gives
            `model_files` (written into
            `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
            model as a config file's `models:` entry does: `module` (with `config`) or `backend`.
            Paths
            in either form must stay inside `models_dir`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ModelInfo
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
