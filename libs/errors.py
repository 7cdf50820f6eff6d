"""Domain errors with stable codes; the HTTP edge maps their kind to a status."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base for every business rule violation. `code` is the stable machine-readable name."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "The request breaks a business rule"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    title = "Resource not found"


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with the resource's current state"


class Unprocessable(DomainError):
    code = "unprocessable"
    title = "The request is well-formed but cannot be carried out"


class DependencyUnavailable(DomainError):
    """Another service this request needs did not answer in time (HTTP 503, retry later)."""

    code = "dependency_unavailable"
    title = "A service this request depends on is unreachable; retry later"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key already used with a different request"


class PreconditionFailed(DomainError):
    """The resource changed since the version the client named in If-Match (HTTP 412)."""

    code = "precondition_failed"
    title = "The resource changed since the ETag sent in If-Match"


class PreconditionRequired(DomainError):
    """An update came without If-Match, so it could overwrite a change it never saw (428)."""

    code = "precondition_required"
    title = "This update needs an If-Match header with the resource's ETag"
