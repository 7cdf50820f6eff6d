# shellcheck shell=bash
# Shared helpers for the deploy/local/*.sh scripts. Sourced, never executed.
# The sourcing script sets REPO (the repository root) and SCRIPT_NAME first.

# One-line messages on stderr, prefixed with the script's name.
log() { printf '%s: %s\n' "${SCRIPT_NAME:-oms}" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Run a command as root: directly when we are root, else through sudo when available.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run as root or install sudo)"
    fi
}

# apt-get install the given packages; 'apt-get update' runs at most once per script run.
_OMS_APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually: $*"
    if [ "$_OMS_APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        # A failing third-party source must not block the Debian packages we need.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
            log "WARNING: apt-get update reported errors; trying the install anyway"
        _OMS_APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ||
        die "apt-get install $* failed"
}

# True when something accepts TCP connections on 127.0.0.1:<port>.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# True when <pid> is a live process whose command line contains <pattern> (fixed string).
# Guards against a stale pid file whose pid has been reused by another program.
pid_matches() {
    local pid=$1 pattern=$2 cmdline
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    # A zombie has an empty command line: treat it as gone.
    [ -n "$cmdline" ] || return 1
    [[ "$cmdline" == *"$pattern"* ]]
}

# True when <pid> is alive and not a zombie.
pid_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # Field 3 (state) follows the ")" that closes the command name, which may contain spaces.
    stat=${stat##*) }
    [ "${stat%% *}" != "Z" ]
}

# Read a pid file; prints the pid or nothing.
read_pid() {
    local f=$1 pid=""
    if [ -f "$f" ]; then
        read -r pid <"$f" 2>/dev/null || true
    fi
    if [[ "$pid" =~ ^[1-9][0-9]*$ ]]; then
        printf '%s\n' "$pid"
    fi
    return 0
}

# SIGTERM <pid>, wait up to <seconds> for it to exit, then SIGKILL. Harmless if already gone.
terminate_pid() {
    local pid=$1 secs=$2 label=$3 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < secs * 10; i++)); do
        # A zombie child of ours is dead for our purposes.
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    log "$label (pid $pid) did not exit within ${secs}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 0
}

# Print the last <n> lines of a file on stderr, indented, when it exists.
show_tail() {
    local f=$1 n=${2:-40}
    [ -s "$f" ] || return 0
    log "---- last $n lines of $f ----"
    tail -n "$n" "$f" | sed 's/^/    /' >&2
    log "---- end of $f ----"
}

# The services and their HTTP ports, from the registry (libs/registry.py): OMS_SERVICES (in
# start order) and OMS_SERVICE_PORTS. It is plain Python, so the machine's python3 reads it
# when the virtual environment is not made yet (postgres.sh runs before `uv sync` can).
oms_python() {
    if [ -x "$REPO/.venv/bin/python" ]; then
        printf '%s\n' "$REPO/.venv/bin/python"
    else
        command -v python3 || die "python3 not found: the service registry (libs/registry.py) needs it"
    fi
}
_oms_registry=$(cd "$REPO" && "$(oms_python)" -m libs.registry shell) ||
    die "reading the service registry failed: (cd $REPO && python3 -m libs.registry shell)"
eval "$_oms_registry"
unset _oms_registry
service_port() {
    [ -n "${OMS_SERVICE_PORTS[$1]:-}" ] || die "unknown service: $1 (services: ${OMS_SERVICES[*]})"
    echo "${OMS_SERVICE_PORTS[$1]}"
}
