"""Domain errors with stable codes; the HTTP edge maps their kind to a status."""

from __future__ import annotations

from typing import ClassVar

from libs.http.problem_codes import ProblemCode


class DomainError(Exception):
    """Base for every business rule violation. `code` is the stable machine-readable name."""

    code: ClassVar[str] = ProblemCode.DOMAIN_ERROR
    title: ClassVar[str] = "The request breaks a business rule"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        # Response headers the error calls for (WWW-Authenticate, Retry-After).
        self.headers: dict[str, str] = {}


class NotFound(DomainError):
    code: ClassVar[str] = ProblemCode.NOT_FOUND
    title = "Resource not found"


class Conflict(DomainError):
    code: ClassVar[str] = ProblemCode.CONFLICT
    title = "The request conflicts with the resource's current state"


class Unprocessable(DomainError):
    code: ClassVar[str] = ProblemCode.UNPROCESSABLE
    title = "The request is well-formed but cannot be carried out"


class DependencyUnavailable(DomainError):
    """Another service this request needs did not answer in time (HTTP 503, retry later)."""

    code: ClassVar[str] = ProblemCode.DEPENDENCY_UNAVAILABLE
    title = "A service this request depends on is unreachable; retry later"

    def __init__(self, detail: str, *, retry_after_s: int = 2, **extra: object) -> None:
        super().__init__(detail, **extra)
        # Every 503 the APIs answer says when to come back (the contracts declare it).
        self.headers = {"Retry-After": str(retry_after_s)}


class IdempotencyKeyReused(Conflict):
    code: ClassVar[str] = ProblemCode.IDEMPOTENCY_KEY_REUSED
    title = "Idempotency-Key already used with a different request"


class PreconditionFailed(DomainError):
    """The resource changed since the version the client named in If-Match (HTTP 412)."""

    code: ClassVar[str] = ProblemCode.PRECONDITION_FAILED
    title = "The resource changed since the ETag sent in If-Match"


class PreconditionRequired(DomainError):
    """An update came without If-Match, so it could overwrite a change it never saw (428)."""

    code: ClassVar[str] = ProblemCode.PRECONDITION_REQUIRED
    title = "This update needs an If-Match header with the resource's ETag"


class Unauthenticated(DomainError):
    """No bearer token, or one that cannot be trusted (HTTP 401). Why it was refused goes to the
    log, not to the caller: the answer must not help anyone forge a better one."""

    code: ClassVar[str] = ProblemCode.UNAUTHENTICATED
    title = "A valid bearer token is required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(DomainError):
    """The token is valid but does not allow this (HTTP 403)."""

    code: ClassVar[str] = ProblemCode.FORBIDDEN
    title = "The token does not allow this request"


class InsufficientScope(Forbidden):
    code: ClassVar[str] = ProblemCode.INSUFFICIENT_SCOPE
    title = "The token lacks a scope this operation needs"

    def __init__(self, detail: str, *, required: list[str]) -> None:
        super().__init__(detail, required_scopes=required)
        scope = " ".join(required)
        self.headers = {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'}


class TooManyRequests(DomainError):
    """The caller sent more than its rate allows (HTTP 429); Retry-After says when to retry."""

    code: ClassVar[str] = ProblemCode.RATE_LIMITED
    title = "Too many requests; retry after the time in Retry-After"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}
