"""The service registry (libs.registry) is the one list of services, and everything that used to
keep a list of its own agrees with it: the services' own settings and subscriptions, the topic
owners, the migrations, the import contracts, the shell scripts and the generated files."""

from __future__ import annotations

import configparser
import importlib
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from libs import registry
from libs.config import ServiceSettings
from libs.db import migrate
from libs.messaging.topics import TOPICS
from tests.support import environment
from tools import compose

REPO = Path(__file__).resolve().parents[3]
# The services before the registry: what is public about them is pinned below; a service added
# later needs no edit here.
FIRST_FOUR = ("order_capture", "inventory", "orchestration", "returns")


def _settings_class(service: registry.Service) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service.package}.config")
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings) and cls is not ServiceSettings
    ]
    assert len(found) == 1, f"{service.package}.config defines one settings class: {found}"
    return found[0]


def _group(name: str) -> str:
    return registry.service(name).consumer_group


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "libs.registry", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.mark.unit
def test_the_four_services_keep_their_names_prefixes_ports_and_databases() -> None:
    # What deploy/local/_lib.sh, docker-compose.yml, tests/contract/test_compose_file.py and the
    # test environment wrote down by hand before the registry: public, so pinned.
    found = {s.name: (s.deploy_name, s.env_prefix, s.port, s.database) for s in registry.SERVICES}

    assert {name: found[name] for name in FIRST_FOUR} == {
        "order_capture": ("order-capture", "ORDER_CAPTURE", 8001, "oms_order_capture"),
        "inventory": ("inventory", "INVENTORY", 8002, "oms_inventory"),
        "orchestration": ("orchestration", "ORCHESTRATION", 8003, "oms_orchestration"),
        "returns": ("returns", "RETURNS", 8004, "oms_returns"),
    }
    assert registry.names()[:4] == FIRST_FOUR


@pytest.mark.unit
def test_names_ports_and_groups_are_unique() -> None:
    for attribute in ("name", "port", "env_prefix", "database", "consumer_group"):
        values = [getattr(s, attribute) for s in registry.SERVICES]
        assert len(values) == len(set(values)), f"two services share a {attribute}: {values}"


@pytest.mark.unit
@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_a_services_own_settings_agree_with_the_registry(service: registry.Service) -> None:
    settings = _settings_class(service)

    assert settings.model_config.get("env_prefix") == service.env_prefix + "_"
    assert settings.model_fields["SERVICE_NAME"].default == service.name
    assert settings.model_fields["HTTP_PORT"].default == service.port


@pytest.mark.unit
@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_a_service_consumes_what_the_registry_says(service: registry.Service) -> None:
    subscriptions = importlib.import_module(f"{service.package}.messaging.subscriptions")

    assert set(subscriptions.SUBSCRIPTIONS) == set(service.consumes)


@pytest.mark.unit
def test_every_topic_is_owned_by_a_registered_service() -> None:
    owners = {s.deploy_name for s in registry.SERVICES}

    assert {spec.owner for spec in TOPICS} <= owners
    published = [topic for s in registry.SERVICES for topic in s.publishes]
    assert sorted(published) == sorted(spec.name for spec in TOPICS)
    consumed = {topic for s in registry.SERVICES for topic in s.consumes}
    assert consumed <= set(published), "a service consumes a topic nobody publishes"


@pytest.mark.unit
def test_readers_are_the_consumer_groups_and_their_topics() -> None:
    readers = registry.readers()

    assert {group: readers[group] for group in map(_group, FIRST_FOUR)} == {
        "order-capture": ["oms.inventory.events", "oms.orchestration.events", "oms.returns.events"],
        "inventory": ["oms.inventory.commands", "oms.returns.events"],
        "orchestration": [
            "oms.order.events",
            "oms.inventory.events",
            "oms.returns.events",
            "oms.payments.commands",
        ],
        "returns": ["oms.order.events", "oms.orchestration.events"],
    }


@pytest.mark.unit
def test_only_orchestration_reads_the_payment_tokens_topic() -> None:
    readers = [s.name for s in registry.SERVICES if "oms.payments.commands" in s.consumes]

    assert readers == ["orchestration"]


@pytest.mark.unit
@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_a_service_has_its_package_migrations_and_contract(service: registry.Service) -> None:
    assert (REPO / "services" / service.name / "__main__.py").is_file()
    assert (REPO / "migrations" / service.migrations / "env.py").is_file()
    assert (REPO / "contracts" / "openapi" / service.openapi).is_file()
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(migrate.INI)
    assert ini.get(service.migrations, "script_location") == f"%(here)s/{service.migrations}"


@pytest.mark.unit
def test_migrations_run_for_every_registered_service() -> None:
    assert registry.names() == migrate.SERVICES


@pytest.mark.unit
def test_the_import_contracts_keep_every_registered_service_apart() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    independent = next(c for c in contracts if c["type"] == "independence")

    assert set(independent["modules"]) == {s.package for s in registry.SERVICES}


@pytest.mark.unit
def test_the_test_stack_gives_each_service_its_port_in_the_test_block() -> None:
    assert {
        s.name: (s.env_prefix, environment.PORT_BASE + s.port - registry.HTTP_PORT_BASE)
        for s in registry.SERVICES
    } == environment.SERVICES
    url = environment.database_url_for("returns")
    assert "oms_returns:oms_returns@" in url
    assert f"/oms_returns{environment.DATABASE_SUFFIX}" in url


@pytest.mark.unit
@pytest.mark.parametrize("path", sorted(compose.generated()), ids=lambda p: p.name)
def test_the_committed_generated_files_are_what_the_registry_makes(path: Path) -> None:
    assert path.read_text() == compose.generated()[path], (
        f"{path.relative_to(REPO)} differs from libs/registry.py: run `make compose`"
    )


@pytest.mark.unit
def test_the_command_line_prints_names_ports_and_shell_assignments() -> None:
    assert _cli("names").stdout == " ".join(registry.names()) + "\n"
    assert _cli("port", "order_capture").stdout == "8001\n"
    assert _cli("port", "order-capture").stdout == "8001\n"
    assert _cli("database", "returns").stdout == "oms_returns\n"
    assert _cli("env-prefix", "order_capture").stdout == "ORDER_CAPTURE\n"
    shell = _cli("shell").stdout
    assert shell == registry.shell()
    assert shell.startswith("OMS_SERVICES=(order_capture inventory orchestration returns")
    assert "declare -gA OMS_SERVICE_PORTS=([order_capture]=8001 [inventory]=8002" in shell
    unknown = _cli("port", "no_such_service")
    assert unknown.returncode == 2
    assert "unknown service 'no_such_service'" in unknown.stderr


@pytest.mark.unit
def test_the_shell_scripts_read_the_registry() -> None:
    script = f'REPO={REPO}; . {REPO}/deploy/local/_lib.sh; echo "${{OMS_SERVICES[*]}}"; '
    script += 'for s in "${OMS_SERVICES[@]}"; do service_port "$s"; done'
    found = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)

    names, *ports = found.stdout.splitlines()
    assert names.split() == list(registry.names())
    assert [int(port) for port in ports] == [s.port for s in registry.SERVICES]
    assert ports[3] == "8004"


@pytest.mark.unit
def test_replicas_get_ports_of_their_own_clear_of_the_first_block_and_the_test_blocks() -> None:
    ports = [s.replica_port(r) for r in (1, 2) for s in registry.SERVICES]
    assert ports == [8001, 8002, 8003, 8004, 8005, 8006, 8101, 8102, 8103, 8104, 8105, 8106]
    assert max(s.replica_port(9) for s in registry.SERVICES) < 18000  # the tests' first block
    assert f"OMS_REPLICA_PORT_STEP={registry.REPLICA_PORT_STEP}\n" in registry.shell()
    with pytest.raises(ValueError, match="numbered from 1"):
        registry.SERVICES[0].replica_port(0)
