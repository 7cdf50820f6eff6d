"""The generated clients (`make clients`) the end-to-end tests drive the main flows through.

Every call goes through the code a developer would generate from contracts/openapi: the request
is built from the generated models and the answer is parsed by them. A service that answers
something its contract does not describe (an undeclared status, a missing or renamed field, an
unknown enum value) breaks the test here, not in some customer's integration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, TypeVar

import httpx

import clients.inventory as inventory
import clients.orchestration as orchestration
import clients.order_capture as order_capture
import clients.returns as returns
from tests.support.tokens import token

T = TypeVar("T")


class Answer(Protocol):
    """What every generated client's `*_detailed` call returns (each package has its own
    Response class of this shape)."""

    @property
    def status_code(self) -> HTTPStatus: ...
    @property
    def content(self) -> bytes: ...
    @property
    def parsed(self) -> Any: ...


@dataclass(frozen=True)
class Api:
    order_capture: order_capture.AuthenticatedClient
    inventory: inventory.AuthenticatedClient
    orchestration: orchestration.AuthenticatedClient
    returns: returns.AuthenticatedClient


@asynccontextmanager
async def generated_clients(urls: dict[str, str]) -> AsyncIterator[Api]:
    """Clients with a back-office token: every scope, narrowed to no channel or location."""
    async with AsyncExitStack() as stack:

        def client(package: Any, url: str) -> Any:
            # An undeclared status code raises (errors.UnexpectedStatus) instead of None.
            made = package.AuthenticatedClient(
                base_url=url,
                token=token(client_id="test-admin"),
                timeout=httpx.Timeout(15),
                raise_on_unexpected_status=True,
            )
            return made

        api = Api(
            order_capture=client(order_capture, urls["order_capture"]),
            inventory=client(inventory, urls["inventory"]),
            orchestration=client(orchestration, urls["orchestration"]),
            returns=client(returns, urls["returns"]),
        )
        for each in (api.order_capture, api.inventory, api.orchestration, api.returns):
            await stack.enter_async_context(each)
        yield api


def parsed(response: Answer, status: int, model: type[T]) -> T:
    """The answer's body as the generated model, after checking it is the expected status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


def as_json(response: Answer, status: int, model: type[Any]) -> dict[str, Any]:
    """The parsed model back as JSON-like data, for tests that compare plain values."""
    body: dict[str, Any] = parsed(response, status, model).to_dict()
    return body
