"""Every service is built from one template (docs/architecture.md): the same folders and the
same template files, each with one job. Only the insides of the free folders (the domain's own
modules, one module per resource or area under routes, schemas and handlers, extra adapters)
differ from service to service."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = frozenset(
    {
        "__init__.py",
        "__main__.py",
        "bootstrap.py",
        "config.py",
        "api/__init__.py",
        "api/app.py",
        "api/routes/__init__.py",
        "api/schemas/__init__.py",
        "domain/__init__.py",
        "domain/commands.py",
        "domain/errors.py",
        "domain/events.py",
        "service_layer/__init__.py",
        "service_layer/unit_of_work.py",
        "service_layer/handlers/__init__.py",
        "adapters/__init__.py",
        "adapters/tables.py",
        "adapters/repository.py",
        "adapters/queries.py",
        "adapters/unit_of_work.py",
        "messaging/__init__.py",
        "messaging/subscriptions.py",
        "messaging/publications.py",
    }
)

# Folders whose further modules are the service's own business.
# api/console/: the templates and static files of a service that serves web pages (insights).
FREE = (
    "domain/",
    "api/routes/",
    "api/schemas/",
    "api/console/",
    "service_layer/handlers/",
    "adapters/",
)


def _folder(service_package: str) -> Path:
    return ROOT.joinpath(*service_package.split("."))


def _python_files(package: Path) -> set[str]:
    return {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def skeleton(package: Path) -> set[str]:
    """The files of a service that the template speaks about."""
    return {
        name for name in _python_files(package) if name in TEMPLATE or not name.startswith(FREE)
    }


@pytest.mark.parametrize("service", [s.package for s in SERVICES])
def test_the_service_has_exactly_the_template_files(service: str) -> None:
    package = _folder(service)
    found = skeleton(package)
    assert sorted(TEMPLATE - found) == [], "missing from the template"
    assert sorted(found - TEMPLATE) == [], "outside the template (move it into a free folder)"


def test_every_service_lists_the_same_folders_and_template_files() -> None:
    trees = {s.package: sorted(skeleton(_folder(s.package))) for s in SERVICES}
    first = next(iter(trees.values()))
    assert all(tree == first for tree in trees.values()), trees


def test_no_service_folder_escapes_the_template() -> None:
    """A new top-level room in one service (say services/x/workers/) is a template change: it
    belongs in docs/architecture.md and in every service, not in one."""
    for s in SERVICES:
        package = _folder(s.package)
        folders = {
            path.relative_to(package).as_posix()
            for path in package.rglob("*")
            if path.is_dir() and "__pycache__" not in path.parts
        }
        outside = {f for f in folders if not (f + "/").startswith(FREE)}
        assert outside <= {"api", "service_layer", "messaging"}, outside
