"""Writes docker-compose.yml, its gateway's configuration (deploy/compose/gateway.conf),
deploy/postgres/init.sql and the image's EXPOSE line (deploy/Dockerfile) from the service
registry: `python -m tools.compose` (what `make compose` runs).

None of them can import Python, so they are generated from libs/registry.py and committed; a
unit test (tests/libs/unit/test_registry.py) fails when a committed one differs from what the
registry makes. `--check` writes nothing and exits 1 when one differs.
"""

# The templates below are docker-compose.yml's own lines, some longer than the code's limit.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from libs import registry
from libs.registry import Service

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
GATEWAY_CONF = ROOT / "deploy" / "compose" / "gateway.conf"

# Inside the compose network.
POSTGRES = "postgres:5432"
KAFKA = "kafka:9092"
# Where the keys service writes the development key and its JWKS (tools.dev_auth files), and
# the services read them; the image makes the folder the unprivileged user's.
DEV_KEYS = "/var/lib/oms/dev-keys"

COMPOSE_HEAD = """\
# The whole OMS on a machine with Docker: `docker compose up --build`, nothing else to set.
# Generated from libs/registry.py by `make compose` (tools/compose.py): do not edit by hand.
# Same topology as `make run` (which needs no Docker): Kafka 3.9.1 in KRaft combined mode,
# PostgreSQL 15 with one role + database per service; the development keys, the topics and
# the migrations as one-shot jobs; then the services, reached through the gateway on ports
# {ports} (http://localhost:<port>/docs). No service publishes a port of its own, so
# each one scales: `docker compose up --scale order-capture=2 --scale inventory=2`.
# Inside this network the broker is kafka:9092 and the database postgres:5432.
# Validated against the Compose Specification schema by tests/contract/test_compose_file.py.
name: oms

x-app: &app
  image: oms-app:local
  build:
    context: .
    dockerfile: deploy/Dockerfile
  restart: unless-stopped

services:
  kafka:
    image: apache/kafka:3.9.1
    hostname: kafka
    # Setting any KAFKA_* variable drops the image's default config, so every property is here
    # (KAFKA_<PROPERTY>: "." -> "_", "_" -> "__", "-" -> "___"); same settings as
    # deploy/local/kafka.sh except that the listener advertises kafka:9092.
    environment:
      CLUSTER_ID: b21zLWxvY2FsLWthZmthIQ
      KAFKA_PROCESS_ROLES: broker,controller
      KAFKA_NODE_ID: "1"
      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093
      KAFKA_LISTENERS: PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093
      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:9092
      KAFKA_INTER_BROKER_LISTENER_NAME: PLAINTEXT
      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
      KAFKA_LOG_DIRS: /var/lib/kafka/data
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1"
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "1"
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1"
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1"
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: "1"
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0"
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false"
      KAFKA_NUM_PARTITIONS: "3"
      # JVM options, not broker properties (the image passes these to the launcher).
      KAFKA_HEAP_OPTS: -Xms256m -Xmx768m
    volumes:
      - kafka-data:/var/lib/kafka/data
    healthcheck:
      test: ["CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server kafka:9092 >/dev/null 2>&1"]
      interval: 10s
      timeout: 20s
      retries: 12
      start_period: 30s
    restart: unless-stopped

  # Makes the topics the services need (the broker never auto-creates one); a cluster of one
  # broker holds one copy of each partition (production's default is 3: docs/operations.md).
  kafka-init:
    <<: *app
    command: ["python", "-m", "libs.messaging.admin", "ensure-topics"]
    environment:
      OMS_KAFKA_BOOTSTRAP_SERVERS: kafka:9092
      OMS_KAFKA_REPLICATION_FACTOR: "1"
      OMS_KAFKA_MIN_INSYNC_REPLICAS: "1"
    depends_on:
      kafka:
        condition: service_healthy
    restart: "no"

  postgres:
    image: postgres:15
    command: ["postgres", "-c", "max_connections=200"]
    environment:
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD: postgres
      POSTGRES_DB: postgres
    volumes:
      # Runs once, on an empty data directory: roles oms_<svc> and databases oms_<svc>[_test].
      - ./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/10-oms-databases.sql:ro
      - postgres-data:/var/lib/postgresql/data
    healthcheck:
      # -h 127.0.0.1: the init-time server listens on the socket only, so this stays
      # unhealthy until the real server is up.
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d postgres"]
      interval: 5s
      timeout: 5s
      retries: 24
      start_period: 10s
    restart: unless-stopped

  # The development signing key and the JWKS that trusts it, made on the first `up` into the
  # dev-keys volume and kept (`make run` keeps its own in .local/auth). Every service trusts
  # it and signs its calls with it; production refuses such keys (docs/security.md). A token:
  #   docker compose run --rm keys python -m tools.dev_auth token --scopes "orders:read orders:write"
  keys:
    <<: *app
    command: ["python", "-m", "tools.dev_auth", "files", "--dir", "{dev_keys}"]
    environment:
      OMS_AUTH_SIGNING_KEY_FILE: {dev_keys}/dev-signing-key.json
    volumes:
      - dev-keys:{dev_keys}
    restart: "no"

  migrate:
    <<: *app
    command: ["python", "-m", "libs.db.migrate"]
    environment:
{migrate_environment}
    depends_on:
      postgres:
        condition: service_healthy
    restart: "no"
"""

# The first service's block defines the dependencies the others refer to, and says once what
# the shared settings are for.
FIRST_SERVICE_NOTES = """\
      # Processes of the service (see the README): the services share one PostgreSQL of 200
      # connections, and each process may open 21 (pool, overflow, relay lock) with the
      # default pool; 2 each fits, more (or --scale) wants a smaller <PREFIX>_DATABASE_POOL_SIZE.
"""
FIRST_DEPENDS_ON = """\
    depends_on: &app-depends-on
      keys:
        condition: service_completed_successfully
      kafka:
        condition: service_healthy
      kafka-init:
        condition: service_completed_successfully
      postgres:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
"""
OTHER_DEPENDS_ON = "    depends_on: *app-depends-on\n"

SERVICE_BLOCK = """
  {deploy_name}:
    <<: *app
    command: ["python", "-m", "{package}"]
    environment:
      {prefix}_DATABASE_URL: {database_url}
      {prefix}_KAFKA_BOOTSTRAP_SERVERS: {kafka}
      {prefix}_HTTP_HOST: 0.0.0.0
{notes}\
      {prefix}_PROCESSES: ${{{prefix}_PROCESSES:-2}}
      # Only the gateway reaches it: its X-Forwarded-For is the caller (limits per address).
      FORWARDED_ALLOW_IPS: "*"
{extra_environment}      # Tokens: the keys service's development key and JWKS, unless the environment brings
      # its own (eval "$(python -m tools.dev_auth env)" shares `make run`'s key).
      OMS_AUTH_JWKS_FILE: {dev_keys}/jwks.json
      OMS_AUTH_SIGNING_KEY_FILE: {dev_keys}/dev-signing-key.json
      OMS_AUTH_JWKS: ${{OMS_AUTH_JWKS:-}}
      OMS_AUTH_SIGNING_KEY: ${{OMS_AUTH_SIGNING_KEY:-}}
    volumes:
      - dev-keys:{dev_keys}:ro
{depends_on}\
    healthcheck:
      test: ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/healthz', timeout=3)"]
      interval: 10s
      timeout: 5s
      retries: 6
      start_period: 20s
"""

# What a service needs beyond the common settings, by its deploy name.
EXTRA_ENVIRONMENT = {
    "notifications": """\
      # Customer e-mails go to the development sink below (a real SMTP server in production:
      # NOTIFICATIONS_SMTP_*, docs/operations.md); SMS to the simulated provider's folder.
      NOTIFICATIONS_SMTP_HOST: mail-sink
      NOTIFICATIONS_SMTP_PORT: "1025"
      NOTIFICATIONS_SMS_DIR: /tmp/oms-sms
""",
}
# The operations console in insights calls every service's API (its own included) by its
# compose service name, with the operator's token (docs/console.md).
EXTRA_ENVIRONMENT["insights"] = (
    "      # The console's calls to each service's API (by its compose name; docs/console.md).\n"
    + "".join(
        f"      INSIGHTS_{s.env_prefix}_URL: http://{s.deploy_name}:{s.port}\n"
        for s in registry.SERVICES
    )
)
EXTRA_DEPENDS_ON = {
    "notifications": """\
    depends_on:
      <<: *app-depends-on
      mail-sink:
        condition: service_started
""",
}

GATEWAY_BLOCK = """
  # The only published ports: each proxies to every container of its service (Docker's DNS
  # names them all; nginx asks again every few seconds, so a `--scale` is followed without a
  # restart). Configuration: deploy/compose/gateway.conf, generated beside this file.
  gateway:
    image: nginx:1.27-alpine
    volumes:
      - ./deploy/compose/gateway.conf:/etc/nginx/conf.d/default.conf:ro
    ports:
{ports}
    restart: unless-stopped
"""

COMPOSE_TAIL = """
  # The development SMTP sink (tools/mail_sink.py, aiosmtpd): every e-mail the services send
  # is kept as a .eml file in the mail volume (docker compose cp mail-sink:/mail ./mail), and
  # none leaves. Its port is not published: only notifications talks to it.
  mail-sink:
    <<: *app
    command: ["python", "-m", "tools.mail_sink", "--host", "0.0.0.0", "--port", "1025", "--dir", "/mail"]
    volumes:
      - mail:/mail

volumes:
  kafka-data:
  postgres-data:
  dev-keys:
  mail:
"""


def database_url(service: Service) -> str:
    """The service's database inside the compose network (development credentials)."""
    return f"postgresql+asyncpg://{service.role}:{service.role}@{POSTGRES}/{service.database}"


def _ports() -> str:
    ports = [s.port for s in registry.SERVICES]
    consecutive = ports == list(range(ports[0], ports[0] + len(ports)))
    return f"{ports[0]}-{ports[-1]}" if consecutive else ", ".join(map(str, ports))


def compose_file() -> str:
    migrate_environment = "\n".join(
        f"      {s.env_prefix}_DATABASE_URL: {database_url(s)}" for s in registry.SERVICES
    )
    blocks = [
        SERVICE_BLOCK.format(
            deploy_name=s.deploy_name,
            package=s.package,
            prefix=s.env_prefix,
            database_url=database_url(s),
            kafka=KAFKA,
            port=s.port,
            dev_keys=DEV_KEYS,
            notes=FIRST_SERVICE_NOTES if first else "",
            extra_environment=EXTRA_ENVIRONMENT.get(s.deploy_name, ""),
            depends_on=FIRST_DEPENDS_ON
            if first
            else EXTRA_DEPENDS_ON.get(s.deploy_name, OTHER_DEPENDS_ON),
        )
        for first, s in ((i == 0, s) for i, s in enumerate(registry.SERVICES))
    ]
    head = COMPOSE_HEAD.format(
        ports=_ports(), migrate_environment=migrate_environment, dev_keys=DEV_KEYS
    )
    ports = "\n".join(f'      - "{s.port}:{s.port}"' for s in registry.SERVICES)
    return head + "".join(blocks) + GATEWAY_BLOCK.format(ports=ports) + COMPOSE_TAIL


GATEWAY_HEAD = """\
# The compose file's gateway (nginx): one server per service port, proxied to every container
# of that service. Generated from libs/registry.py by `make compose` (tools/compose.py): do not
# edit by hand.
# Docker's DNS (127.0.0.11) is asked again after `valid`, and a name in a variable is resolved
# per request, so containers a `--scale` adds or removes are followed; nginx spreads the
# requests over all the addresses. Requests that are not idempotent are never retried on
# another container (nginx's default).
resolver 127.0.0.11 valid=5s ipv6=off;
"""

GATEWAY_SERVER = """
server {{
    listen {port};
    location / {{
        set $upstream {deploy_name}:{port};
        proxy_pass http://$upstream;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
}}
"""


def gateway_conf() -> str:
    servers = [
        GATEWAY_SERVER.format(port=s.port, deploy_name=s.deploy_name) for s in registry.SERVICES
    ]
    return GATEWAY_HEAD + "".join(servers)


INIT_SQL_TEXT = """\
-- One owning role and two databases per service (oms_<svc> for `make run`, oms_<svc>_test for
-- `make test`). Generated from libs/registry.py by `make compose` (tools/compose.py): do not edit
-- by hand. Idempotent: docker-compose runs it once on an empty data directory
-- (/docker-entrypoint-initdb.d), deploy/local/postgres.sh runs it on every `ensure`.
-- PostgreSQL 15: ordinary roles cannot create tables in schema public unless they own the
-- database (public is owned by pg_database_owner), so each role OWNS its databases.
-- Run with psql (uses \\gexec) as a superuser, connected to the postgres database.

\\set ON_ERROR_STOP on

DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY[{services}] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'oms_' || svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', 'oms_' || svc, 'oms_' || svc);
        ELSE
            EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', 'oms_' || svc, 'oms_' || svc);
        END IF;
    END LOOP;
END
$$;

-- CREATE DATABASE cannot run inside a DO block (or a transaction): generate it and \\gexec.
SELECT format('CREATE DATABASE %I OWNER %I', d.db, d.owner)
FROM (
    SELECT 'oms_' || svc || suffix AS db, 'oms_' || svc AS owner
    FROM unnest(ARRAY[{services}]) AS svc,
         unnest(ARRAY['', '_test']) AS suffix
) AS d
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d.db)
ORDER BY d.db
\\gexec

-- Databases that already existed keep (or get back) the right owner.
SELECT format('ALTER DATABASE %I OWNER TO %I', d.db, d.owner)
FROM (
    SELECT 'oms_' || svc || suffix AS db, 'oms_' || svc AS owner
    FROM unnest(ARRAY[{services}]) AS svc,
         unnest(ARRAY['', '_test']) AS suffix
) AS d
ORDER BY d.db
\\gexec
"""


def init_sql() -> str:
    # The role and database names are 'oms_' || <name> (registry.Service.role and .database).
    services = ", ".join(f"'{name}'" for name in registry.names())
    return INIT_SQL_TEXT.format(services=services)


def dockerfile() -> str:
    """The committed Dockerfile with its EXPOSE line listing every service's port (the rest of
    the file is written by hand)."""
    expose = "EXPOSE " + " ".join(str(s.port) for s in registry.SERVICES)
    text, found = re.subn(r"^EXPOSE .*$", expose, DOCKERFILE.read_text(), flags=re.M)
    if found != 1:
        raise SystemExit(f"{DOCKERFILE}: expected one EXPOSE line, found {found}")
    return text


def generated() -> dict[Path, str]:
    """Every file this tool writes, by path, as the registry makes it."""
    return {
        COMPOSE_FILE: compose_file(),
        GATEWAY_CONF: gateway_conf(),
        INIT_SQL: init_sql(),
        DOCKERFILE: dockerfile(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    if stale:
        print(f"stale (run `make compose`): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
