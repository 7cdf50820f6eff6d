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
GATEWAY_CONF = REPO / "deploy" / "compose" / "gateway.conf"
DOCKERFILE = REPO / "deploy" / "Dockerfile"

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
    gateway = GATEWAY_CONF.read_text(encoding="utf-8")

    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    assert str(services["postgres"]["image"]).startswith("postgres:15")
    for name, (package, prefix, port) in SERVICES.items():
        assert name in services, f"service {name} missing from docker-compose.yml"
        service = services[name]
        assert _command(service) == ["python", "-m", f"services.{package}"]
        # `--scale` starts more containers of a service: a fixed host port would clash, so the
        # gateway publishes the service's port and proxies to all of them.
        assert not _published_ports(service), f"{name} must publish no port (it scales)"
        assert (port, port) in _published_ports(services["gateway"]), f"gateway must publish {port}"
        assert f"set $upstream {name}:{port};" in gateway, f"gateway must proxy {port} to {name}"
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


@pytest.mark.unit
def test_a_bare_compose_up_needs_no_variable_and_makes_what_it_needs_first() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    services = _compose()["services"]

    # `${VAR:?message}` refuses to start without VAR: nothing may demand one.
    assert ":?" not in text, "docker-compose.yml requires a variable from the environment"
    # The one-shot jobs: the development keys, the topics (never auto-created), the schemas.
    assert _command(services["keys"])[:4] == ["python", "-m", "tools.dev_auth", "files"]
    assert _command(services["kafka-init"]) == [
        "python",
        "-m",
        "libs.messaging.admin",
        "ensure-topics",
    ]
    assert _environment(services["kafka"])["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    keys_volume = services["keys"]["volumes"][0].split(":")
    for name in SERVICES:
        service = services[name]
        depends_on = service["depends_on"]
        for job in ("keys", "kafka-init", "migrate"):
            assert depends_on[job]["condition"] == "service_completed_successfully", (name, job)
        env = _environment(service)
        # Trusts and signs with the keys service's files (read-only), unless the environment
        # brings its own key.
        assert f"{keys_volume[0]}:{keys_volume[1]}:ro" in service["volumes"], name
        assert env["OMS_AUTH_JWKS_FILE"].startswith(keys_volume[1] + "/"), name
        assert env["OMS_AUTH_SIGNING_KEY_FILE"].startswith(keys_volume[1] + "/"), name


@pytest.mark.unit
def test_the_image_is_built_in_stages_and_runs_unprivileged() -> None:
    lines = [line.split() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    stages = [words for words in lines if words[:1] == ["FROM"]]
    users = [words[1] for words in lines if words[:1] == ["USER"]]

    assert len(stages) >= 2, "build the dependencies in a stage of their own"
    assert any(words[:2] == ["COPY", "--from=dependencies"] for words in lines)
    # The last stage's user is the one the containers run as.
    assert users and users[-1] not in ("root", "0"), "the image must run as an unprivileged user"
