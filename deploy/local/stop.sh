#!/usr/bin/env bash
# Stop everything `make run` started (what `make stop` calls). Harmless when nothing runs.
#
#   deploy/local/stop.sh
#
# 1. a live run.sh supervisor (.local/run/run.pid) gets SIGTERM and does its own shutdown;
# 2. services still named by .local/run/<svc>.pid (and <svc>-<r>.pid, the replicas of
#    `make run REPLICAS=n`) get SIGTERM, SIGKILL after 15 s, and the mail
#    sink named by .local/run/mail_sink.pid after 5 s;
# 3. deploy/local/kafka.sh stop;  4. deploy/local/postgres.sh stop (only if ensure started it).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT_NAME="stop.sh"
# shellcheck source=deploy/local/_lib.sh
. "$REPO/deploy/local/_lib.sh"

RUN_DIR="$REPO/.local/run"
STOP_TIMEOUT=15

sup=$(read_pid "$RUN_DIR/run.pid")
if [ -n "$sup" ] && pid_matches "$sup" "run.sh"; then
    log "asking run.sh (pid $sup) to shut down"
    # It stops the services (<= 15 s), then Kafka (<= 30 s + SIGKILL) and PostgreSQL.
    terminate_pid "$sup" 60 "run.sh"
fi
rm -f "$RUN_DIR/run.pid"

# Services left behind (run.sh killed with SIGKILL, or its shutdown cut short).
declare -A pids=()
for svc in "${OMS_SERVICES[@]}"; do
    for pidfile in "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc"-[0-9]*.pid; do
        [ -e "$pidfile" ] || continue
        inst=$(basename "$pidfile" .pid)
        pid=$(read_pid "$pidfile")
        if [ -n "$pid" ] && pid_matches "$pid" "services.$svc"; then
            log "stopping $inst (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids[$inst]=$pid
        else
            rm -f "$pidfile"
        fi
    done
done
if [ "${#pids[@]}" -gt 0 ]; then
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        alive=0
        for svc in "${!pids[@]}"; do
            pid_alive "${pids[$svc]}" && alive=1
        done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for svc in "${!pids[@]}"; do
        if pid_alive "${pids[$svc]}"; then
            log "$svc (pid ${pids[$svc]}) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "${pids[$svc]}" 2>/dev/null || true
        fi
        rm -f "$RUN_DIR/$svc.pid"
    done
else
    log "no services running"
fi

# The mail sink left behind (tools/mail_sink.py, started by run.sh before the services).
pid=$(read_pid "$RUN_DIR/mail_sink.pid")
if [ -n "$pid" ] && pid_matches "$pid" "tools.mail_sink"; then
    log "stopping the mail sink (pid $pid)"
    terminate_pid "$pid" 5 "mail sink"
fi
rm -f "$RUN_DIR/mail_sink.pid"

"$REPO/deploy/local/kafka.sh" stop
"$REPO/deploy/local/postgres.sh" stop
