"""The token check at the HTTP edge: 401 without a trusted token, 403 without the scope,
429 past the client's write rate. Routes name their scope, and FastAPI writes it into the
operation's `security` requirement, so the contract and the check cannot disagree.

    @router.get("/orders/{order_id}")
    async def get(order_id: UUID, caller: Annotated[Principal, requires(Scope.ORDERS_READ)]): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from libs.auth.actor import current_actor
from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.auth.tokens import InvalidToken, TokenVerifier
from libs.errors import InsufficientScope, TooManyRequests, Unauthenticated
from libs.http.rate_limit import RateLimiter
from libs.observability.logging import get_logger

log = get_logger(__name__)

SECURITY_SCHEME = "bearerAuth"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    scheme_name=SECURITY_SCHEME,
    bearerFormat="JWT",
    description="An OAuth2 client-credentials access token (RFC 9068 JWT) from the identity "
    "provider, or from `make token` in development. `scope` holds the scopes an operation "
    "lists in its security requirement (`admin` holds them all). An optional `channels` claim "
    "narrows the client to the orders of those sales channels and all that belongs to them; "
    "an optional `locations` claim narrows it to the fulfilments of those locations and to "
    "stock writes there.",
    auto_error=False,
)


@dataclass(frozen=True)
class AccessControl:
    """What the edge checks requests with; built once per process from configuration."""

    verifier: TokenVerifier
    write_limiter: RateLimiter
    self_service_limiter: RateLimiter


def _access(request: Request) -> AccessControl:
    access: AccessControl = request.app.state.container.access
    return access


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    access = _access(request)
    if credentials is None:
        raise Unauthenticated("send Authorization: Bearer <token>")
    try:
        principal = access.verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        log.info("auth.token_refused", reason=str(exc), path=request.url.path)
        raise Unauthenticated("the bearer token is not valid") from None
    missing = [scope for scope in security_scopes.scopes if not principal.allows(scope)]
    if missing:
        raise InsufficientScope(
            f"this operation needs the scope {' '.join(missing)}", required=missing
        )
    if request.method not in SAFE_METHODS:
        wait = access.write_limiter.take(principal.client_id)
        if wait:
            raise TooManyRequests(
                f"client {principal.client_id} is over its write rate", retry_after_s=wait
            )
    actor = current_actor()
    actor.client_id = principal.client_id
    return principal


def requires(scope: Scope) -> Any:
    """The dependency of an operation that needs `scope`: it yields the verified caller."""
    return Security(authenticate, scopes=[scope])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_self_service(request: Request) -> None:
    """Self-service has no token: its rate is limited per client address instead, which is
    what makes guessing order numbers and e-mail addresses slow."""
    wait = _access(request).self_service_limiter.take(client_address(request))
    if wait:
        raise TooManyRequests(
            "too many self-service requests from this address", retry_after_s=wait
        )


SelfServiceLimit = Depends(limit_self_service)
