"""One registry of problem codes (libs.http.problem_codes): every code a service or library can
answer is in it, with the status it is answered with, and docs/errors.md is that registry."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from libs import registry
from libs.errors import DependencyUnavailable, DomainError
from libs.http.problem_codes import (
    HTTP_FALLBACK_PREFIX,
    PROBLEMS,
    SHARED,
    ProblemCode,
    problems_markdown,
)
from libs.http.problems import DEFAULT_STATUS, install_problem_handlers, status_for

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted(
    p for top in ("libs", "services") for p in (ROOT / top).rglob("*.py") if p.name != "__main__.py"
)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _domain_errors() -> Iterator[type[DomainError]]:
    """Every DomainError class the libraries and services define (all their modules loaded)."""
    for path in SOURCES:
        importlib.import_module(_module_name(path))

    def below(cls: type[DomainError]) -> Iterator[type[DomainError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    yield DomainError
    for cls in below(DomainError):
        if cls.__module__.startswith(("libs.", "services.")):
            yield cls


def _literal_codes_passed_to_problem_response() -> Iterator[tuple[str, str]]:
    """(where, code) of every `problem_response(code="...")` written with a literal code."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name != "problem_response":
                continue
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", str(keyword.value.value)


DOMAIN_ERRORS = sorted(_domain_errors(), key=lambda c: (c.__module__, c.__name__))


def test_every_code_has_its_status_meaning_and_advice() -> None:
    assert set(ProblemCode) == set(PROBLEMS)
    assert set(ProblemCode) >= SHARED
    for code, info in PROBLEMS.items():
        assert 400 <= info.status <= 599, code
        assert info.meaning.endswith("."), code
        assert info.action, code
        assert not code.startswith(HTTP_FALLBACK_PREFIX), code


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_domain_error_has_a_registered_code_answered_with_its_status(
    error: type[DomainError],
) -> None:
    assert error.code in PROBLEMS, (
        f"{error.__module__}.{error.__name__} answers {error.code!r}, which is not in "
        "libs.http.problem_codes: register it (status, meaning, what to do) and run "
        "`make contracts`"
    )
    registered = PROBLEMS[ProblemCode(error.code)].status
    instance = error.__new__(error)  # the status depends on the class only
    assert status_for(instance, DEFAULT_STATUS) == registered, error


def test_the_services_raise_errors_of_their_own() -> None:
    # The parametrised test above would pass vacuously if the services' errors were not found.
    modules = [c.__module__.split(".") for c in DOMAIN_ERRORS]
    packages = {parts[1] for parts in modules if parts[0] == "services"}
    assert packages == set(registry.names())


def test_every_literal_problem_code_is_registered() -> None:
    found = list(_literal_codes_passed_to_problem_response())
    unregistered = [(where, code) for where, code in found if code not in PROBLEMS]
    assert not unregistered


def test_docs_errors_md_is_the_registry() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    assert problems_markdown() in text, "docs/errors.md is stale: paste problems_markdown()"


async def test_a_dependency_that_is_unavailable_says_when_to_retry() -> None:
    app = FastAPI()
    install_problem_handlers(app, {})

    @app.get("/boom")
    async def boom() -> None:
        raise DependencyUnavailable("inventory did not answer")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")

    assert response.status_code == 503
    assert response.json()["code"] == "dependency_unavailable"
    assert response.headers["Retry-After"] == "2"
