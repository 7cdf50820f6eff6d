"""The test run's environment: test databases, test ports and a topic prefix of its own.

Set before any settings object is built, so in-process tests and the service processes that
the end-to-end tests start all point at the same test databases and topics, never at the
databases and topics of a `make run` stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from libs import registry
from libs.auth.keys import generate_signing_key, jwks_of

# Two runs at once (a second working copy, a helper session) each set their own database
# suffix and port base, so neither empties the other's databases nor takes its ports. The
# databases must exist: `deploy/local/postgres.sh database <suffix>` makes them.
DATABASE_SUFFIX = os.environ.get("OMS_TEST_DATABASE_SUFFIX", "_test")
PORT_BASE = int(os.environ.get("OMS_TEST_PORT_BASE", "18000"))
# Every service of the registry: its environment prefix and its test port (its `make run` port
# moved from registry.HTTP_PORT_BASE to PORT_BASE).
SERVICES: dict[str, tuple[str, int]] = {
    service.name: (service.env_prefix, PORT_BASE + service.port_offset)
    for service in registry.SERVICES
}

# Replica r (1..) of a service in a test run: its test port + (r - 1) x this step, so two
# replicas (tests/e2e/test_replicas.py) stay inside the run's block of 100 ports, clear of the
# services' (PORT_BASE + 1...) and the mail sink's (PORT_BASE + 25); registry.REPLICA_PORT_STEP
# (100) is `make run`'s, whose blocks are not shared.
REPLICA_PORT_STEP = 30


def replica_port(service: str, replica: int) -> int:
    """The test port of a service's replica number `replica` (1 is the stack's own)."""
    return registry.service(service).replica_port(replica, step=REPLICA_PORT_STEP) + (
        PORT_BASE - registry.HTTP_PORT_BASE
    )


RUN_ID = os.environ.setdefault("OMS_TEST_RUN_ID", str(int(time.time())))
TOPIC_PREFIX = f"test{RUN_ID}."
ROOT = Path(__file__).resolve().parents[2]
# The run's development SMTP sink (tools/mail_sink.py, started by the `mail_sink` fixture): a
# port in the run's block, clear of the services' (PORT_BASE + 1...), and a folder of the
# run's own, so the tests read only the messages this run sent (tests/support/mailbox.py).
MAIL_SINK_PORT = PORT_BASE + 25
MAIL_DIR = ROOT / ".local" / "mail-test" / RUN_ID
# Where the simulated SMS provider writes (services/notifications/adapters/sms.py).
SMS_DIR = ROOT / ".local" / "sms-test" / RUN_ID
# The logs of the processes the run starts, in a folder per database suffix: two runs at once
# (make test's two shards) start services of the same names, and a test reads its service's log.
LOG_DIR = ROOT / ".local" / "test-logs" / DATABASE_SUFFIX.lstrip("_")
BOOTSTRAP_SERVERS = os.environ.get("OMS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


# The local cluster's Unix socket, when there is one (deploy/local/postgres.sh lets the
# services' roles log in there): a statement's round trip over it costs about 60 us of client
# and server CPU, one over TCP loopback about 150. Without it, TCP.
PG_SOCKET_DIR = os.environ.get("OMS_PG_SOCKET_DIR", "/var/run/postgresql")


def database_url_for(service: str) -> str:
    found = registry.service(service)
    database = f"{found.database}{DATABASE_SUFFIX}"
    credentials = f"{found.role}:{found.role}"
    if os.path.isdir(PG_SOCKET_DIR):
        return f"postgresql+asyncpg://{credentials}@/{database}?host={PG_SOCKET_DIR}"
    return f"postgresql+asyncpg://{credentials}@127.0.0.1:5432/{database}"


def apply() -> None:
    os.environ.setdefault("OMS_KAFKA_TOPIC_PREFIX", TOPIC_PREFIX)
    # A signing key of the run's own, trusted by every service it starts; tests mint their
    # tokens with it (tests.support.tokens). Never a key from the environment.
    key = generate_signing_key(f"test-{RUN_ID}")
    os.environ["OMS_AUTH_SIGNING_KEY"] = json.dumps(key)
    os.environ["OMS_AUTH_JWKS"] = json.dumps(jwks_of(key))
    for service, (prefix, port) in SERVICES.items():
        os.environ.setdefault(f"{prefix}_DATABASE_URL", database_url_for(service))
        os.environ.setdefault(f"{prefix}_KAFKA_TOPIC_PREFIX", TOPIC_PREFIX)
        os.environ.setdefault(f"{prefix}_KAFKA_BOOTSTRAP_SERVERS", BOOTSTRAP_SERVERS)
        os.environ.setdefault(f"{prefix}_HTTP_PORT", str(port))
        os.environ.setdefault(f"{prefix}_ENV", "test")
        os.environ.setdefault(f"{prefix}_RELAY_POLL_INTERVAL_S", "0.5")
        os.environ.setdefault(f"{prefix}_CONSUMER_RETRY_BACKOFF_S", "0.05")
        os.environ.setdefault(f"{prefix}_DATABASE_POOL_SIZE", "5")
        # One process per service (a test that kills a service kills that one process); the
        # tests of several processes ask for them.
        os.environ.setdefault(f"{prefix}_PROCESSES", "1")
        # The suite writes fast from one client id; the rate limits have tests of their own.
        os.environ.setdefault(f"{prefix}_WRITE_RATE_PER_S", "100000")
        os.environ.setdefault(f"{prefix}_WRITE_BURST", "100000")
        os.environ.setdefault(f"{prefix}_SELF_SERVICE_RATE_PER_MIN", "1000000")
        os.environ.setdefault(f"{prefix}_SELF_SERVICE_BURST", "100000")
        # The races fire hundreds of requests at once on purpose; admission control (which
        # would refuse most of them with 503) has tests of its own.
        os.environ.setdefault(f"{prefix}_HTTP_MAX_IN_FLIGHT", "100000")
    # Orchestration's worker looks for work often, and an order its view of inventory cannot
    # serve yet is held after 3 s rather than 30 (the view catches up in well under a second).
    os.environ.setdefault("ORCHESTRATION_WORKER_INTERVAL_S", "0.1")
    os.environ.setdefault("ORCHESTRATION_ROUTING_GRACE_S", "3")
    # A process the crash tests kill leaves its claims to the next one after this lease.
    os.environ.setdefault("ORCHESTRATION_WORKER_LEASE_S", "3")
    os.environ.setdefault(
        "RETURNS_ORDER_CAPTURE_URL", f"http://127.0.0.1:{SERVICES['order_capture'][1]}"
    )
    os.environ.setdefault("RETURNS_WORKER_INTERVAL_S", "0.1")
    # The console in insights calls every service's API (its own included) on the run's ports.
    for prefix, port in SERVICES.values():
        os.environ.setdefault(f"INSIGHTS_{prefix}_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("RETURNS_WORKER_LEASE_S", "3")
    # Customer messages go to the run's sink and SMS folder, never to a real server.
    os.environ.setdefault("NOTIFICATIONS_SMTP_HOST", "127.0.0.1")
    os.environ.setdefault("NOTIFICATIONS_SMTP_PORT", str(MAIL_SINK_PORT))
    os.environ.setdefault("NOTIFICATIONS_SMS_DIR", str(SMS_DIR))
    # The sending job looks for due notifications often (a test waits for the e-mail).
    os.environ.setdefault("NOTIFICATIONS_SEND_INTERVAL_S", "0.2")


def migrate_from_scratch() -> None:
    """Every service's test database, emptied and migrated to head (exercises the downgrades)."""
    subprocess.run(
        [sys.executable, "-m", "libs.db.migrate", "--from-scratch"],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def base_url(service: str) -> str:
    return f"http://127.0.0.1:{os.environ[SERVICES[service][0] + '_HTTP_PORT']}"
