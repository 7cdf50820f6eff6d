#!/usr/bin/env bash
# The headless browser the console's tests drive: Debian's chromium, no browser download.
#
#   deploy/local/browser.sh ensure   install Debian's chromium when it is missing
#   deploy/local/browser.sh status   exit 0 when chromium is installed, else 3
#
# Playwright (Python) launches this binary (executable_path, tests/support/browser.py) instead of
# the browsers `playwright install` would fetch from a CDN, which this machine cannot reach.
# Env: OMS_CHROMIUM (default /usr/bin/chromium), the binary the tests launch.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT_NAME="browser.sh"
# shellcheck source=deploy/local/_lib.sh
. "$REPO/deploy/local/_lib.sh"

CHROMIUM=${OMS_CHROMIUM:-/usr/bin/chromium}

installed() {
    [ -x "$CHROMIUM" ]
}

ensure() {
    if installed; then
        return 0
    fi
    # as_root would try sudo; say plainly what is needed instead of a password prompt or a
    # bare "command not found" when the suite's browser tests later fail.
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        die "$CHROMIUM is missing and installing it needs root: run, as root," \
            "apt-get install -y --no-install-recommends chromium (or set OMS_BROWSER_TESTS=0" \
            "to skip the browser tests)"
    fi
    log "chromium not installed; installing Debian's chromium (the browser tests drive it)"
    apt_install --no-install-recommends chromium
    installed || die "chromium installed but $CHROMIUM is missing"
    log "$("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
}

case "${1:-}" in
ensure) ensure ;;
status) installed || exit 3 ;;
*)
    echo "usage: $0 ensure|status" >&2
    exit 2
    ;;
esac
