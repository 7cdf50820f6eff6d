"""The services of the system, each written down once: what everything outside a service reads.

`make run` (deploy/local/*.sh, through the command line below), the test stack
(tests.support.environment), the benchmark (bench/), the contract and client tools (tools/),
the migrations (libs.db.migrate) and docker-compose.yml and deploy/postgres/init.sql (generated
by `make compose`, tools/compose.py) all take the list of services, their ports, databases,
environment prefixes and topics from here. Adding a service is one entry in SERVICES.

Everything else about a service follows from its name by convention (the properties below), so a
convention is written once too. Plain Python on purpose (no pydantic, no settings): the shell
scripts start it before anything is installed but the interpreter.

    python -m libs.registry names                 order_capture inventory ... notifications
    python -m libs.registry port order_capture    8001
    python -m libs.registry shell                 bash: OMS_SERVICES and OMS_SERVICE_PORTS
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from libs.messaging.topics import (
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    ORCHESTRATION_EVENTS,
    ORDER_EVENTS,
    PAYMENT_COMMANDS,
    RETURNS_EVENTS,
    TOPICS,
)

# `make run` serves service N on HTTP_PORT_BASE + N; a test run moves the whole block to a base
# of its own (tests.support.environment.PORT_BASE) and keeps each service's offset.
HTTP_PORT_BASE = 8000
# `make run REPLICAS=n` serves replica r (1..n) of a service on its port + (r - 1) x this step:
# replica 2 on 8101-8106, clear of the first block and of the test runs' blocks (18000 up).
REPLICA_PORT_STEP = 100


@dataclass(frozen=True)
class Service:
    """One service. `name` is its Python package under services/ (snake_case)."""

    name: str
    port: int
    # Logical topics it subscribes to (its messaging subscriptions' keys; a unit test holds
    # them equal). What it publishes is the owner column of libs.messaging.topics.TOPICS.
    consumes: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        """What `python -m` runs: services.<name>."""
        return f"services.{self.name}"

    @property
    def deploy_name(self) -> str:
        """Kebab case: the consumer group, Kafka client id, CloudEvent source, topic owner,
        compose service and contract file name (ServiceSettings.deploy_name agrees)."""
        return self.name.replace("_", "-")

    @property
    def consumer_group(self) -> str:
        """Its Kafka consumer group (a test run prefixes it like the topics)."""
        return self.deploy_name

    @property
    def env_prefix(self) -> str:
        """Its settings' environment prefix without the trailing underscore: ORDER_CAPTURE for
        ORDER_CAPTURE_HTTP_PORT."""
        return self.name.upper()

    @property
    def database(self) -> str:
        """Its `make run` database; the tests append a suffix (`_test` unless told)."""
        return f"oms_{self.name}"

    @property
    def role(self) -> str:
        """The database role owning its databases; in development its password is its name."""
        return f"oms_{self.name}"

    @property
    def migrations(self) -> str:
        """Its Alembic folder under migrations/, and its section of migrations/alembic.ini."""
        return self.name

    @property
    def openapi(self) -> str:
        """Its OpenAPI document's file name under contracts/openapi/."""
        return f"{self.deploy_name}.json"

    @property
    def client(self) -> str:
        """The package of its generated client (`make clients`): clients/<client>."""
        return self.name

    @property
    def port_offset(self) -> int:
        """Its place in a block of ports (see HTTP_PORT_BASE)."""
        return self.port - HTTP_PORT_BASE

    def replica_port(self, replica: int, *, step: int = REPLICA_PORT_STEP) -> int:
        """The port of its replica number `replica` (1 is the service's own port)."""
        if replica < 1:
            raise ValueError(f"replicas are numbered from 1, not {replica}")
        return self.port + (replica - 1) * step

    @property
    def publishes(self) -> tuple[str, ...]:
        """The logical topics it owns (libs.messaging.topics: one owner per topic)."""
        return tuple(spec.name for spec in TOPICS if spec.owner == self.deploy_name)


# In start order (`make run` starts and health-checks them in this order).
SERVICES: tuple[Service, ...] = (
    Service(
        "order_capture",
        port=8001,
        consumes=(INVENTORY_EVENTS, ORCHESTRATION_EVENTS, RETURNS_EVENTS),
    ),
    Service("inventory", port=8002, consumes=(INVENTORY_COMMANDS, RETURNS_EVENTS)),
    Service(
        "orchestration",
        port=8003,
        # The payment tokens' topic: no other service may read it (docs/security.md).
        consumes=(ORDER_EVENTS, INVENTORY_EVENTS, RETURNS_EVENTS, PAYMENT_COMMANDS),
    ),
    Service("returns", port=8004, consumes=(ORDER_EVENTS, ORCHESTRATION_EVENTS)),
    # Signed webhooks and customer notifications: it reads every event topic about orders.
    Service(
        "notifications",
        port=8005,
        consumes=(ORDER_EVENTS, ORCHESTRATION_EVENTS, INVENTORY_EVENTS, RETURNS_EVENTS),
    ),
    # The KPI projection and the operations console: it reads the business events and
    # publishes none of its own.
    Service(
        "insights",
        port=8006,
        consumes=(ORDER_EVENTS, ORCHESTRATION_EVENTS, INVENTORY_EVENTS, RETURNS_EVENTS),
    ),
)


def names() -> tuple[str, ...]:
    return tuple(service.name for service in SERVICES)


def service(name: str) -> Service:
    """The service called `name` (package or deploy name); KeyError names the known ones."""
    for each in SERVICES:
        if name in (each.name, each.deploy_name):
            return each
    raise KeyError(f"unknown service {name!r}; the services are {', '.join(names())}")


def readers() -> dict[str, list[str]]:
    """Consumer group -> the logical topics it reads, for every service that consumes."""
    return {s.consumer_group: list(s.consumes) for s in SERVICES if s.consumes}


def shell() -> str:
    """Bash assignments of the list of services, their ports and the replicas' port step
    (deploy/local/_lib.sh)."""
    ports = " ".join(f"[{s.name}]={s.port}" for s in SERVICES)
    return (
        f"OMS_SERVICES=({' '.join(shlex.quote(n) for n in names())})\n"
        f"declare -gA OMS_SERVICE_PORTS=({ports})\n"
        f"OMS_REPLICA_PORT_STEP={REPLICA_PORT_STEP}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m libs.registry", description="The services and what each one uses."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("names", help="the services, in start order, one line")
    commands.add_parser("shell", help="bash: OMS_SERVICES=(...) and OMS_SERVICE_PORTS=([...]=...)")
    for field in ("port", "database", "env-prefix", "package", "deploy-name"):
        command = commands.add_parser(field, help=f"a service's {field.replace('-', ' ')}")
        command.add_argument("service")
    args = parser.parse_args(argv)
    if args.command == "names":
        print(" ".join(names()))
    elif args.command == "shell":
        print(shell(), end="")
    else:
        try:
            found = service(args.service)
        except KeyError as exc:
            parser.error(str(exc.args[0]))
        print(getattr(found, args.command.replace("-", "_")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
