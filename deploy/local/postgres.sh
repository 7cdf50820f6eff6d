#!/usr/bin/env bash
# Local PostgreSQL 15 (Debian's cluster 15/main on 127.0.0.1:5432) without Docker.
#
#   deploy/local/postgres.sh ensure   install if missing, start if down, max_connections >= 300,
#                                     roles oms_<svc> / databases oms_<svc> and oms_<svc>_test
#                                     (deploy/postgres/init.sql), check a password login for each
#   deploy/local/postgres.sh stop     stop the cluster, only if `ensure` started it
#                                     (marker <repo>/.local/postgres.started)
#   deploy/local/postgres.sh status   exit 0 when 127.0.0.1:5432 accepts connections, else 3
#   deploy/local/postgres.sh database SUFFIX
#                                     databases oms_<svc>SUFFIX owned by oms_<svc> (e.g. _test_b,
#                                     for a second test run beside the first: OMS_TEST_DATABASE_SUFFIX)
#
# Services: those of libs/registry.py (OMS_SERVICES); role = password = oms_<svc>.
# URL:      postgresql://oms_<svc>:oms_<svc>@/oms_<svc>[_test]?host=/var/run/postgresql
#           (the cluster's Unix socket, as the local stack connects: `ensure` lets these roles
#           log in there with their password), or ...@127.0.0.1:5432/... over TCP.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT_NAME="postgres.sh"
# shellcheck source=deploy/local/_lib.sh
. "$REPO/deploy/local/_lib.sh"

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
MIN_CONNECTIONS=300
INIT_SQL="$REPO/deploy/postgres/init.sql"
MARKER="$REPO/.local/postgres.started"
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
READY_TIMEOUT=${OMS_PG_READY_TIMEOUT:-60}
PG_SOCKET_DIR=${OMS_PG_SOCKET_DIR:-/var/run/postgresql}
# Marks the pg_hba.conf rule ensure_socket_logins writes, so a later run finds and updates it.
HBA_MARK="# oms local stack (deploy/local/postgres.sh)"

# The services as a brace list's inside: order_capture,inventory,...
services_csv() {
    local IFS=,
    printf '%s\n' "${OMS_SERVICES[*]}"
}

# psql as the postgres superuser over the local socket (peer auth); stdin = SQL.
admin_psql() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@")
    else
        (cd / && sudo -u postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@")
    fi
}

ensure_installed() {
    if [ -x "$PG_BIN/postgres" ] && command -v pg_ctlcluster >/dev/null 2>&1 &&
        command -v psql >/dev/null 2>&1; then
        return 0
    fi
    log "PostgreSQL $PG_VERSION not installed; installing postgresql-$PG_VERSION"
    apt_install "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION"
    [ -x "$PG_BIN/postgres" ] || die "postgresql-$PG_VERSION installed but $PG_BIN/postgres is missing"
}

# Prints the cluster's status word from pg_lsclusters (online, down, ...), empty if no cluster.
cluster_status() {
    pg_lsclusters --no-header 2>/dev/null |
        awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $4 }'
}

cluster_port() {
    pg_lsclusters --no-header 2>/dev/null |
        awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3 }'
}

ensure_cluster() {
    if [ -z "$(cluster_status)" ]; then
        log "cluster $PG_VERSION/$PG_CLUSTER does not exist; creating it on port $PG_PORT"
        as_root pg_createcluster --port="$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >&2 ||
            die "pg_createcluster $PG_VERSION $PG_CLUSTER failed"
    fi
    local port
    port=$(cluster_port)
    [ "$port" = "$PG_PORT" ] ||
        die "cluster $PG_VERSION/$PG_CLUSTER is configured for port $port, expected $PG_PORT (/etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf)"
}

wait_ready() {
    local start=$SECONDS
    until pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; do
        if [ $((SECONDS - start)) -ge "$READY_TIMEOUT" ]; then
            show_tail "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" 30
            die "PostgreSQL not accepting connections on 127.0.0.1:$PG_PORT after ${READY_TIMEOUT}s"
        fi
        sleep 0.5
    done
}

pg_ctl_cluster() {
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" "$@" >&2
}

ensure_running() {
    local status
    status=$(cluster_status)
    case "$status" in
    online*) ;;
    *)
        if port_open "$PG_PORT"; then
            die "cluster $PG_VERSION/$PG_CLUSTER is $status but something else listens on 127.0.0.1:$PG_PORT"
        fi
        log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
        pg_ctl_cluster start || {
            show_tail "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" 30
            die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed"
        }
        mkdir -p "$(dirname "$MARKER")"
        date -Is >"$MARKER"
        ;;
    esac
    wait_ready
}

ensure_max_connections() {
    local current
    current=$(admin_psql -At -c 'SHOW max_connections')
    if [ "$current" -ge "$MIN_CONNECTIONS" ]; then
        return 0
    fi
    log "max_connections is $current; setting $MIN_CONNECTIONS (ALTER SYSTEM) and restarting PostgreSQL"
    admin_psql -c "ALTER SYSTEM SET max_connections = $MIN_CONNECTIONS"
    pg_ctl_cluster restart || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER restart failed"
    wait_ready
    current=$(admin_psql -At -c 'SHOW max_connections')
    [ "$current" -ge "$MIN_CONNECTIONS" ] || die "max_connections is still $current after restart"
}

# The services' roles may log in over the cluster's Unix socket with their password (Debian's
# rules let only same-named system users in there, by peer): the local stack connects that
# way, because a statement's round trip over the socket costs about 60 us of client and
# server CPU where one over TCP loopback costs about 150 (select 1, asyncpg, this machine),
# and the stack makes thousands a second. The rule goes before the first `local` rule (the
# first rule that matches decides) and is rewritten when the services change.
ensure_socket_logins() {
    local hba roles rule
    hba=$(admin_psql -At -c 'SHOW hba_file')
    roles=$(printf 'oms_%s,' "${OMS_SERVICES[@]}")
    rule="local   all   ${roles%,}   scram-sha-256   $HBA_MARK"
    if as_postgres grep -qxF "$rule" "$hba"; then
        return 0
    fi
    log "letting ${roles%,} log in over the local socket with their passwords ($hba)"
    local rules
    rules=$(as_postgres cat "$hba" | awk -v rule="$rule" -v mark="$HBA_MARK" '
        index($0, mark) { next }
        !done && /^[[:space:]]*local[[:space:]]/ { print rule; done = 1 }
        { print }
        END { if (!done) print rule }') || die "reading $hba failed"
    printf '%s\n' "$rules" | as_postgres tee "$hba" >/dev/null || die "writing $hba failed"
    admin_psql -c 'SELECT pg_reload_conf()' >/dev/null
}

# A command as the postgres system user (it owns the cluster's files).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

verify_logins() {
    local svc db url
    for svc in "${OMS_SERVICES[@]}"; do
        for db in "oms_$svc" "oms_${svc}_test"; do
            # A password login over TCP and over the socket, and the owner may create tables
            # in schema public.
            for url in "postgresql://oms_$svc:oms_$svc@127.0.0.1:$PG_PORT/$db" \
                "postgresql://oms_$svc:oms_$svc@/$db?host=$PG_SOCKET_DIR&port=$PG_PORT"; do
                if ! psql -X -q -At "$url" -v ON_ERROR_STOP=1 \
                    -c 'BEGIN; CREATE TABLE public.oms_ensure_probe (id int); ROLLBACK;' >/dev/null; then
                    die "cannot log in and create a table as oms_$svc on $db (${url#*@}; see pg_hba.conf)"
                fi
            done
        done
    done
}

cmd_ensure() {
    local start=$SECONDS
    ensure_installed
    ensure_cluster
    ensure_running
    ensure_max_connections
    admin_psql <"$INIT_SQL" >/dev/null || die "applying $INIT_SQL failed"
    ensure_socket_logins
    verify_logins
    log "PostgreSQL $PG_VERSION ready on 127.0.0.1:$PG_PORT: roles/databases oms_{$(services_csv)}[_test] ($((SECONDS - start))s)"
}

cmd_stop() {
    if [ ! -f "$MARKER" ]; then
        log "PostgreSQL was not started by postgres.sh ensure; leaving it as it is"
        return 0
    fi
    case "$(cluster_status)" in
    online*)
        log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER (started by postgres.sh ensure)"
        pg_ctl_cluster stop || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER stop failed"
        ;;
    *) log "PostgreSQL $PG_VERSION/$PG_CLUSTER already down" ;;
    esac
    rm -f "$MARKER"
}

cmd_database() {
    local suffix=${1:-} svc
    [[ "$suffix" =~ ^_[a-z0-9_]+$ ]] || die "usage: $0 database _<suffix> (lower case, digits, _)"
    for svc in "${OMS_SERVICES[@]}"; do
        if [ -z "$(admin_psql -At -c "SELECT 1 FROM pg_database WHERE datname = 'oms_$svc$suffix'")" ]; then
            admin_psql -c "CREATE DATABASE oms_$svc$suffix OWNER oms_$svc"
        fi
    done
    log "databases oms_{$(services_csv)}$suffix ready"
}

cmd_status() {
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
        echo "postgres: accepting connections on 127.0.0.1:$PG_PORT (cluster $PG_VERSION/$PG_CLUSTER $(cluster_status))"
        if [ -f "$MARKER" ]; then echo "postgres: started by postgres.sh ensure"; fi
    else
        echo "postgres: not running on 127.0.0.1:$PG_PORT"
        return 3
    fi
}

case "${1:-}" in
ensure) cmd_ensure ;;
stop) cmd_stop ;;
status) cmd_status ;;
database) cmd_database "${2:-}" ;;
*)
    echo "usage: $0 {ensure|stop|status|database SUFFIX}" >&2
    exit 2
    ;;
esac
