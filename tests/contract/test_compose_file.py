"""docker-compose.yml is a valid Compose file and describes the same system as `make run`.

The schema is the Compose Specification's own JSON schema, vendored next to this file (see
COMPOSE_SCHEMA_SOURCE.md), so the check needs neither Docker nor the network.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

from libs import registry

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.schema.json")
LOCAL_RUN_LIB = REPO / "deploy" / "local" / "_lib.sh"

# compose service name -> (python package under services/, env prefix, HTTP port), from the
# registry (tests/libs/unit/test_registry.py pins the four services' names, prefixes and ports).
SERVICES = {s.deploy_name: (s.name, s.env_prefix, s.port) for s in registry.SERVICES}


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml must be a mapping"
    return document


def _published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host, container) pairs from short ("8001:8001") or long ({published, target}) syntax."""
    pairs: set[tuple[int, int]] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
        else:
            parts = str(entry).split("/")[0].split(":")
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(c) for c in command]


@pytest.mark.unit
def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.absolute_path))

    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path)) or '<top level>'}: {e.message}" for e in errors
    )


@pytest.mark.unit
def test_compose_file_declares_the_same_system_as_make_run() -> None:
    services = _compose()["services"]

    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    assert str(services["postgres"]["image"]).startswith("postgres:15")
    for name, (package, prefix, port) in SERVICES.items():
        assert name in services, f"service {name} missing from docker-compose.yml"
        service = services[name]
        assert _command(service) == ["python", "-m", f"services.{package}"]
        assert (port, port) in _published_ports(service), f"{name} must publish {port}:{port}"
        env = _environment(service)
        assert env[f"{prefix}_DATABASE_URL"] == (
            f"postgresql+asyncpg://oms_{package}:oms_{package}@postgres:5432/oms_{package}"
        )
        assert env[f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"

    # Customer e-mails go to the development SMTP sink, as under `make run`.
    notifications = _environment(services["notifications"])
    sink = services[notifications["NOTIFICATIONS_SMTP_HOST"]]
    assert _command(sink)[:3] == ["python", "-m", "tools.mail_sink"]
    assert notifications["NOTIFICATIONS_SMTP_PORT"] in _command(sink)

    # The ports `make run` (deploy/local/run.sh) waits on are the same ones: asked of
    # deploy/local/_lib.sh's service_port, as run.sh asks.
    script = f'REPO={REPO}; . {LOCAL_RUN_LIB}; for s in "${{OMS_SERVICES[@]}}"; do '
    script += 'echo "$s $(service_port "$s")"; done'
    listed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    local_ports = {svc: int(port) for svc, port in map(str.split, listed.stdout.splitlines())}
    assert local_ports == {package: port for package, _, port in SERVICES.values()}
