#!/usr/bin/env bash
# Start and supervise the OMS services locally (what `make run` calls last, after
# `uv sync`, `kafka.sh start`, `postgres.sh ensure`, migrations and topic creation).
#
#   deploy/local/run.sh
#
# Runs "$REPO/.venv/bin/python -m services.<svc>" for every service of the registry
# (libs/registry.py: order_capture inventory orchestration returns notifications insights on ports 8001-8006, read
# through `python -m libs.registry shell` by _lib.sh) in the background with the caller's environment, each as
# <PREFIX>_PROCESSES processes (default: for a shared machine, order-capture one per two CPUs, the
# others one per four, at least one) with a database pool sized so
# that the four fit PostgreSQL's connections (size_services); logs in
# .local/logs/<svc>.log (previous run kept as <svc>.log.1), pids in .local/run/<svc>.pid.
# OMS_REPLICAS=n (`make run REPLICAS=n`, default 1) runs n independent instances of every
# service, each with its own supervisor and port, sharing the service's database and consumer
# group (as n pods would): replica r of a service listens on its port + (r - 1) x 100
# (OMS_REPLICA_PORT_STEP, from the registry), e.g. 8101-8106 for replica 2, and is named
# <svc>-<r> in its log and pid file (.local/logs/<svc>-2.log, .local/run/<svc>-2.pid);
# replica 1 keeps the plain names. A KAFKA_GROUP_INSTANCE_ID the caller sets becomes
# <id>-r<r> for replicas 2 and up (two members with one id would fence each other out).
# Waits for GET /healthz on each (OMS_HEALTH_TIMEOUT seconds each, default 60), prints the /docs
# URLs, then supervises: a service that dies is reported (log tail) and the others keep running.
# Before the services it starts the development SMTP sink (tools/mail_sink.py) on
# OMS_MAIL_SINK_PORT (default 1025), which writes every e-mail the services send to
# .local/mail/ as a .eml file (log .local/logs/mail_sink.log, pid .local/run/mail_sink.pid).
# Ctrl-C / SIGTERM: SIGTERM the services (SIGKILL after 15 s), then kafka.sh stop and
# postgres.sh stop, exit 0.
# A second run while services from an earlier run are alive is REFUSED (exit 1): stop the
# first one (Ctrl-C in its terminal, or `make stop`) before starting again.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT_NAME="run.sh"
# shellcheck source=deploy/local/_lib.sh
. "$REPO/deploy/local/_lib.sh"

PY="$REPO/.venv/bin/python"
RUN_DIR="$REPO/.local/run"
LOG_DIR="$REPO/.local/logs"
SUPERVISOR_PIDFILE="$RUN_DIR/run.pid"
HEALTH_TIMEOUT=${OMS_HEALTH_TIMEOUT:-60}
STOP_TIMEOUT=15
PG_SOCKET_DIR=${OMS_PG_SOCKET_DIR:-/var/run/postgresql}
MAIL_SINK_PORT=${OMS_MAIL_SINK_PORT:-1025}
MAIL_DIR="$REPO/.local/mail"
MAIL_SINK_PID=""

# Of postgres.sh's 300 connections, what each service's processes may open together (six
# services: 240); the rest is left for migrations, psql and the like.
CONNECTIONS_PER_SERVICE=40
MAX_POOL_SIZE=10 # the services' own default

declare -A PIDS=()
REPLICAS=${OMS_REPLICAS:-1}
# Every instance to run, in start order (replica 1 of every service, then replica 2, ...):
# its name (<svc> for replica 1, <svc>-<r> after), and its service, replica number and port.
declare -a INSTANCES=()
declare -A INSTANCE_SERVICE=() INSTANCE_REPLICA=() INSTANCE_PORT=()
SHUTTING_DOWN=0

[ -x "$PY" ] || die "$PY not found: run '.tools/bin/uv sync --frozen' first (make run does)"
[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || die "REPLICAS (OMS_REPLICAS) must be a number from 1 to 99, not '$REPLICAS'"

plan_instances() {
    local r svc inst
    for ((r = 1; r <= REPLICAS; r++)); do
        for svc in "${OMS_SERVICES[@]}"; do
            inst=$svc
            [ "$r" -gt 1 ] && inst="$svc-$r"
            INSTANCES+=("$inst")
            INSTANCE_SERVICE[$inst]=$svc
            INSTANCE_REPLICA[$inst]=$r
            INSTANCE_PORT[$inst]=$(($(service_port "$svc") + (r - 1) * OMS_REPLICA_PORT_STEP))
        done
    done
}
plan_instances

# The pid files of every instance of a service an earlier run may have left (any REPLICAS).
service_pidfiles() {
    local f
    for f in "$RUN_DIR/$1.pid" "$RUN_DIR/$1"-[0-9]*.pid; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done
    return 0
}

# HTTP status code of GET http://127.0.0.1:<port><path>, empty when there is no answer.
# Plain bash (/dev/tcp), so it needs neither curl nor wget.
http_status() {
    local line
    line=$(timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
        IFS= read -r line <&3 && printf "%s\n" "$line"
        cat <&3 >/dev/null # drain the body: the server closes (HTTP/1.0, Connection: close)
    ' _ "$1" "$2" 2>/dev/null) || true
    [[ "$line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    return 0
}

refuse_duplicates() {
    local sup pid svc port
    sup=$(read_pid "$SUPERVISOR_PIDFILE")
    if [ -n "$sup" ] && [ "$sup" != "$$" ] && pid_matches "$sup" "run.sh"; then
        die "already running: 'make run' (run.sh pid $sup) supervises the services; Ctrl-C it or run 'make stop' first"
    fi
    local f inst
    for svc in "${OMS_SERVICES[@]}"; do
        while read -r f; do
            pid=$(read_pid "$f")
            if [ -n "$pid" ] && pid_matches "$pid" "services.$svc"; then
                die "already running: $(basename "$f" .pid) (pid $pid) from an earlier run; run 'make stop' (deploy/local/stop.sh) first"
            fi
            rm -f "$f"
        done < <(service_pidfiles "$svc")
    done
    for inst in "${INSTANCES[@]}"; do
        port=${INSTANCE_PORT[$inst]}
        if port_open "$port"; then
            die "port $port (for $inst) is already in use by a process not started by run.sh; free it first (ss -ltnp 'sport = :$port')"
        fi
    done
    pid=$(read_pid "$RUN_DIR/mail_sink.pid")
    if [ -n "$pid" ] && pid_matches "$pid" "tools.mail_sink"; then
        die "already running: the mail sink (pid $pid) from an earlier run; run 'make stop' (deploy/local/stop.sh) first"
    fi
    rm -f "$RUN_DIR/mail_sink.pid"
    if port_open "$MAIL_SINK_PORT"; then
        die "port $MAIL_SINK_PORT (for the mail sink) is already in use; free it first, or set OMS_MAIL_SINK_PORT"
    fi
}

# The development SMTP sink: every e-mail the services send ends in $MAIL_DIR, none leaves.
start_mail_sink() {
    local log="$LOG_DIR/mail_sink.log" i
    [ -f "$log" ] && mv -f "$log" "$log.1"
    setsid "$PY" -m tools.mail_sink --dir "$MAIL_DIR" --host 127.0.0.1 --port "$MAIL_SINK_PORT" \
        >>"$log" 2>&1 </dev/null &
    MAIL_SINK_PID=$!
    echo "$MAIL_SINK_PID" >"$RUN_DIR/mail_sink.pid"
    for ((i = 0; i < 100; i++)); do
        port_open "$MAIL_SINK_PORT" && break
        pid_alive "$MAIL_SINK_PID" || { show_tail "$log" 20; die "the mail sink exited during startup"; }
        sleep 0.1
    done
    port_open "$MAIL_SINK_PORT" || { show_tail "$log" 20; die "the mail sink did not listen on port $MAIL_SINK_PORT within 10s"; }
    log "started the mail sink (pid $MAIL_SINK_PID) on 127.0.0.1:$MAIL_SINK_PORT: e-mails go to $MAIL_DIR"
    export NOTIFICATIONS_SMTP_HOST=${NOTIFICATIONS_SMTP_HOST:-127.0.0.1}
    export NOTIFICATIONS_SMTP_PORT=${NOTIFICATIONS_SMTP_PORT:-$MAIL_SINK_PORT}
}

stop_mail_sink() {
    [ -n "$MAIL_SINK_PID" ] || return 0
    terminate_pid "$MAIL_SINK_PID" 5 "mail sink"
    wait "$MAIL_SINK_PID" 2>/dev/null || true
    rm -f "$RUN_DIR/mail_sink.pid"
    MAIL_SINK_PID=""
}

# Processes, CPU priority and pool size per service, unless the caller set them: what the
# services get on a machine they share with each other, PostgreSQL and Kafka (libs.config.
# shared_host_processes: order-capture one per two CPUs, the others one per four, at least
# one; shared_host_nice: the HTTP edges first, returns last; shared_host_consumer_apart: the
# HTTP edge's consumer in a process of its own), and a pool that keeps its processes within
# CONNECTIONS_PER_SERVICE (each may open 2 x pool + 1: pool, overflow, relay lock), shared by
# the service's REPLICAS.
size_services() {
    local svc prefix procs_var pool_var nice_var apart_var url_var procs pool all i=0
    local -a auto nice apart
    # One interpreter for all of them: a start of Python with the settings module takes ~1 s.
    {
        read -r -a auto
        read -r -a nice
        read -r -a apart
    } < <("$PY" -c 'import sys; from libs.config import shared_host_consumer_apart, shared_host_nice, shared_host_processes
print(*(shared_host_processes(s) for s in sys.argv[1:]))
print(*(shared_host_nice(s) for s in sys.argv[1:]))
print(*(str(shared_host_consumer_apart(s)).lower() for s in sys.argv[1:]))' "${OMS_SERVICES[@]}")
    for svc in "${OMS_SERVICES[@]}"; do
        prefix=${svc^^}
        procs_var="${prefix}_PROCESSES"
        pool_var="${prefix}_DATABASE_POOL_SIZE"
        procs=${!procs_var:-${auto[i]}}
        nice_var="${prefix}_CPU_NICE"
        [ -n "${!nice_var:-}" ] || export "$nice_var=${nice[i]}"
        apart_var="${prefix}_CONSUMER_APART"
        [ -n "${!apart_var:-}" ] || export "$apart_var=${apart[i]}"
        i=$((i + 1))
        [[ "$procs" =~ ^[1-9][0-9]*$ ]] || die "$procs_var must be a positive number, not '$procs'"
        all=$procs
        [ "${!apart_var,,}" = true ] && all=$((procs + 1))
        pool=$(((CONNECTIONS_PER_SERVICE / REPLICAS / all - 1) / 2))
        ((pool > MAX_POOL_SIZE)) && pool=$MAX_POOL_SIZE
        ((pool < 1)) && pool=1
        export "$procs_var=$procs"
        [ -n "${!pool_var:-}" ] || export "$pool_var=$pool"
        # The self-service limit is the whole service's: each process takes its share of it.
        export "${prefix}_REPLICAS=$REPLICAS"
        url_var="${prefix}_DATABASE_URL"
        # Over the cluster's Unix socket (postgres.sh lets the roles in there): a statement's
        # round trip costs a third of one over TCP loopback.
        if [ -z "${!url_var:-}" ] && [ -d "$PG_SOCKET_DIR" ]; then
            export "$url_var=postgresql+asyncpg://oms_$svc:oms_$svc@/oms_$svc?host=$PG_SOCKET_DIR"
        fi
        log "$svc: $REPLICAS replica(s) of ${!procs_var} process(es), database pool ${!pool_var} each, nice ${!nice_var}, consumer apart: ${!apart_var}"
    done
}

start_service() {
    local inst=$1 log="$LOG_DIR/$1.log" pid svc prefix r member
    svc=${INSTANCE_SERVICE[$inst]}
    r=${INSTANCE_REPLICA[$inst]}
    prefix=${svc^^}
    # What is this instance's own: its port, and a static consumer-group member id if set.
    local -a own=("${prefix}_HTTP_PORT=${INSTANCE_PORT[$inst]}")
    member="${prefix}_KAFKA_GROUP_INSTANCE_ID"
    if [ -n "${!member:-}" ] && [ "$r" -gt 1 ]; then
        own+=("$member=${!member}-r$r")
    fi
    [ -f "$log" ] && mv -f "$log" "$log.1"
    echo "==== $(date -Is) run.sh: ${own[*]} $PY -m services.$svc ====" >"$log"
    # setsid: own process group, so a Ctrl-C in the terminal reaches only this supervisor,
    # which then stops the services in order.
    env "${own[@]}" setsid "$PY" -m "services.$svc" >>"$log" 2>&1 </dev/null &
    pid=$!
    PIDS[$inst]=$pid
    echo "$pid" >"$RUN_DIR/$inst.pid"
    log "started $inst (pid $pid, port ${INSTANCE_PORT[$inst]}, log $log)"
}

# Stop our services: SIGTERM all, wait up to STOP_TIMEOUT s, SIGKILL the leftovers.
stop_services() {
    local svc pid i alive
    local -a live=()
    for svc in "${INSTANCES[@]}"; do
        pid=${PIDS[$svc]:-}
        if [ -n "$pid" ] && pid_alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$svc")
        fi
    done
    if [ "${#live[@]}" -gt 0 ]; then
        log "stopping ${live[*]}"
        for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
            alive=0
            for svc in "${live[@]}"; do
                pid_alive "${PIDS[$svc]}" && alive=1
            done
            [ "$alive" -eq 0 ] && break
            sleep 0.1
        done
        for svc in "${live[@]}"; do
            if pid_alive "${PIDS[$svc]}"; then
                log "$svc (pid ${PIDS[$svc]}) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
                kill -KILL "${PIDS[$svc]}" 2>/dev/null || true
            fi
        done
    fi
    for svc in "${!PIDS[@]}"; do
        wait "${PIDS[$svc]}" 2>/dev/null || true
        rm -f "$RUN_DIR/$svc.pid"
    done
    PIDS=()
}

# Ctrl-C / SIGTERM: everything down, exit <code>.
shutdown() {
    local code=$1
    [ "$SHUTTING_DOWN" -eq 1 ] && return 0
    SHUTTING_DOWN=1
    # Ignored signals are inherited: a second Ctrl-C cannot cut kafka.sh/postgres.sh stop short.
    trap '' INT TERM
    log "shutting down"
    stop_services
    stop_mail_sink
    "$REPO/deploy/local/kafka.sh" stop || log "WARNING: kafka.sh stop failed"
    "$REPO/deploy/local/postgres.sh" stop || log "WARNING: postgres.sh stop failed"
    rm -f "$SUPERVISOR_PIDFILE"
    log "stopped"
    exit "$code"
}

# Unexpected exit (an error under set -e, or a failed start): never leave services behind.
on_exit() {
    local code=$?
    if [ "$SHUTTING_DOWN" -eq 0 ]; then
        SHUTTING_DOWN=1
        trap '' INT TERM
        stop_services
        stop_mail_sink
        rm -f "$SUPERVISOR_PIDFILE"
        if [ "$code" -ne 0 ]; then
            log "services stopped; Kafka and PostgreSQL left running ('make stop' stops them)"
        fi
    fi
}

wait_healthy() {
    local svc=$1 port pid start=$SECONDS code
    port=${INSTANCE_PORT[$svc]}
    pid=${PIDS[$svc]}
    while :; do
        if ! pid_alive "$pid"; then
            local rc=0
            wait "$pid" 2>/dev/null || rc=$?
            show_tail "$LOG_DIR/$svc.log" 40
            die "$svc (pid $pid) exited with status $rc during startup"
        fi
        code=$(http_status "$port" /healthz)
        if [ "$code" = "200" ]; then
            log "$svc healthy on http://127.0.0.1:$port after $((SECONDS - start))s"
            return 0
        fi
        if [ $((SECONDS - start)) -ge "$HEALTH_TIMEOUT" ]; then
            show_tail "$LOG_DIR/$svc.log" 40
            die "$svc (pid $pid) did not answer 200 on GET http://127.0.0.1:$port/healthz within ${HEALTH_TIMEOUT}s (last status: ${code:-no answer})"
        fi
        sleep 0.5
    done
}

supervise() {
    local svc pid rc alive
    while :; do
        alive=0
        for svc in "${INSTANCES[@]}"; do
            pid=${PIDS[$svc]:-}
            [ -n "$pid" ] || continue
            if pid_alive "$pid"; then
                alive=$((alive + 1))
            else
                rc=0
                wait "$pid" 2>/dev/null || rc=$?
                unset "PIDS[$svc]"
                rm -f "$RUN_DIR/$svc.pid"
                show_tail "$LOG_DIR/$svc.log" 40
                log "WARNING: $svc (pid $pid) exited with status $rc; the other services keep running (Ctrl-C stops all)"
            fi
        done
        if [ -n "$MAIL_SINK_PID" ] && ! pid_alive "$MAIL_SINK_PID"; then
            wait "$MAIL_SINK_PID" 2>/dev/null || true
            show_tail "$LOG_DIR/mail_sink.log" 20
            log "WARNING: the mail sink (pid $MAIL_SINK_PID) exited; e-mails are not delivered until the next 'make run'"
            rm -f "$RUN_DIR/mail_sink.pid"
            MAIL_SINK_PID=""
        fi
        if [ "$alive" -eq 0 ]; then
            log "all services have exited"
            shutdown 1
        fi
        # Sleep in the background and wait for it, so Ctrl-C is handled at once.
        sleep 1 &
        wait $! || true
    done
}

main() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    refuse_duplicates
    echo "$$" >"$SUPERVISOR_PIDFILE"
    trap on_exit EXIT
    trap 'shutdown 0' INT TERM
    cd "$REPO"
    export PYTHONUNBUFFERED=1
    # Tokens: the caller's identity provider keys if set, else this checkout's development key
    # (made once in .local/auth/; `make token` mints tokens with it).
    if [ -z "${OMS_AUTH_JWKS:-}${OMS_AUTH_JWKS_FILE:-}" ]; then
        eval "$("$PY" -m tools.dev_auth env)"
    fi
    size_services
    start_mail_sink
    local inst
    for inst in "${INSTANCES[@]}"; do
        start_service "$inst"
    done
    for inst in "${INSTANCES[@]}"; do
        wait_healthy "$inst"
    done
    {
        echo
        echo "OMS is running:"
        for inst in "${INSTANCES[@]}"; do
            printf '  %-16s http://127.0.0.1:%s/docs\n' "$inst" "${INSTANCE_PORT[$inst]}"
        done
        echo "Operations console: http://127.0.0.1:$(service_port insights)/console/"
        echo "  log in with this development token (admin, 1 h; \`make token\` makes others, e.g."
        echo "  SCOPES='orders:read orders:write inventory:read' CHANNELS=web):"
        "$PY" -m tools.dev_auth token --scopes admin --client-id console-dev
        echo "E-mails: $MAIL_DIR/*.eml (the development SMTP sink on 127.0.0.1:$MAIL_SINK_PORT)"
        echo "Logs: $LOG_DIR/<service>.log"
        echo "Processes per service: <SERVICE>_PROCESSES (e.g. ORCHESTRATION_PROCESSES=3 make run)."
        echo "Replicas of every service: make run REPLICAS=2 (replica 2 on 8101-8106)."
        echo "Ctrl-C to stop (services, then Kafka and PostgreSQL)."
    } >&2
    supervise
}

main "$@"
