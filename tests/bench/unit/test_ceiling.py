"""bench.ceiling: pgbench's report parsed, the script's shape, and the run driven end to end
against stand-in psql and pgbench executables (no database)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from bench import ceiling
from bench.ceiling import (
    PGBENCH_SCRIPT,
    SETUP_SQL,
    Ceiling,
    CeilingError,
    libpq_url,
    measure_ceiling,
    parse_pgbench,
)

# pgbench 15.18 (Debian 12), this script, -M prepared -c 8 -j 2 -T 2: its stdout verbatim.
PGBENCH_15 = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/bench-ceiling-k2v1/order_write.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 7952
number of failed transactions: 0 (0.000%)
latency average = 1.981 ms
initial connection time = 38.293 ms
tps = 4037.718547 (without initial connection time)
"""

# pgbench 15 with -t instead of -T (a fixed number of transactions per client).
PGBENCH_15_TRANSACTIONS = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/bench_ceiling_try.sql
scaling factor: 1
query mode: prepared
number of clients: 2
number of threads: 1
maximum number of tries: 1
number of transactions per client: 50
number of transactions actually processed: 100/100
number of failed transactions: 0 (0.000%)
latency average = 3.776 ms
initial connection time = 41.747 ms
tps = 529.658212 (without initial connection time)
"""

# pgbench 13 printed both figures, with and without establishing the connections.
PGBENCH_13 = """\
transaction type: order_write.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
duration: 15 s
number of transactions actually processed: 40512
latency average = 2.963 ms
tps = 2699.800929 (including connections establishing)
tps = 2700.412303 (excluding connections establishing)
"""

# pgbench 9.4: "latency average: ..." with a colon.
PGBENCH_94 = """\
transaction type: Custom query
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
duration: 15 s
number of transactions actually processed: 40512
latency average: 2.963 ms
tps = 2699.800929 (including connections establishing)
tps = 2700.412303 (excluding connections establishing)
"""

# Very old pgbench: no latency line; the average follows from clients / tps.
PGBENCH_NO_LATENCY = """\
transaction type: Custom query
number of clients: 8
number of threads: 2
duration: 15 s
number of transactions actually processed: 30000
tps = 2000.000000 (including connections establishing)
"""

ABORTED_STDERR = (
    'pgbench: error: ERROR:  relation "bench_ceiling.sales_order" does not exist\n'
    "pgbench: error: Run was aborted; the above results are incomplete.\n"
)


@pytest.mark.parametrize(
    ("output", "tps", "latency"),
    [
        (PGBENCH_15, 4037.718547, 1.981),
        (PGBENCH_15_TRANSACTIONS, 529.658212, 3.776),
        (PGBENCH_13, 2700.412303, 2.963),
        (PGBENCH_94, 2700.412303, 2.963),
        (PGBENCH_NO_LATENCY, 2000.0, 4.0),
    ],
    ids=["15", "15-transactions", "13-excluding", "9.4-colon", "no-latency"],
)
def test_parse_pgbench(output: str, tps: float, latency: float) -> None:
    assert parse_pgbench(output) == pytest.approx((tps, latency))


def test_including_connections_is_the_fallback_when_alone() -> None:
    only = PGBENCH_13.replace("tps = 2700.412303 (excluding connections establishing)\n", "")
    assert parse_pgbench(only)[0] == pytest.approx(2699.800929)


def test_output_without_a_tps_line_is_an_error() -> None:
    aborted = PGBENCH_15.split("number of failed")[0]
    with pytest.raises(ValueError, match="no tps line"):
        parse_pgbench(aborted)


def test_ceiling_to_dict() -> None:
    found = Ceiling(
        tps=2700.0, clients=8, seconds=15.0, latency_avg_ms=2.9, synchronous_commit="on"
    )
    assert found.to_dict() == {
        "tps": 2700.0,
        "clients": 8,
        "seconds": 15.0,
        "latency_avg_ms": 2.9,
        "synchronous_commit": "on",
    }
    assert json.loads(json.dumps(found.to_dict())) == found.to_dict()


def test_libpq_url_drops_the_sqlalchemy_driver() -> None:
    url = "postgresql+asyncpg://u:p@127.0.0.1:5432/db"
    assert libpq_url(url) == "postgresql://u:p@127.0.0.1:5432/db"
    assert libpq_url("postgresql://u:p@h/db") == "postgresql://u:p@h/db"


# --- the script ------------------------------------------------------------------------------

_VARIABLE = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


def _statements(script: str) -> list[str]:
    """SQL statements of a pgbench script: meta-commands are one line each, `\\gset` ends one."""
    sql = "\n".join(line for line in script.splitlines() if not line.startswith("\\"))
    sql = sql.replace("\\gset", ";")
    return [s.strip() for s in sql.split(";") if s.strip()]


def test_every_variable_the_script_reads_is_set_before() -> None:
    defined = set(re.findall(r"^\\set (\w+) ", PGBENCH_SCRIPT, re.MULTILINE))
    returning = re.search(r"RETURNING (.*?) \\gset", PGBENCH_SCRIPT)
    assert returning is not None
    defined |= {column.split()[-1] for column in returning.group(1).split(",")}
    used = set(_VARIABLE.findall(PGBENCH_SCRIPT))
    assert used <= defined, f"undefined in the pgbench script: {sorted(used - defined)}"
    assert {"order_id", "order_number", "address"} <= used


def test_the_script_is_one_order_write() -> None:
    statements = _statements(PGBENCH_SCRIPT)
    assert statements[0] == "BEGIN"
    assert statements[-1] == "COMMIT"
    inserts = [s.split("(")[0].split()[-1] for s in statements if s.startswith("INSERT")]
    assert inserts == [
        "bench_ceiling.sales_order",
        "bench_ceiling.order_line",
        "bench_ceiling.outbox",
    ]
    lines = next(s for s in statements if "bench_ceiling.order_line" in s)
    assert lines.count("gen_random_uuid()") == 3
    assert "synchronous_commit" not in PGBENCH_SCRIPT.lower()


def test_setup_recreates_the_schema_with_its_indexes() -> None:
    assert SETUP_SQL.lstrip().startswith("DROP SCHEMA IF EXISTS bench_ceiling CASCADE;")
    assert "CREATE SCHEMA bench_ceiling;" in SETUP_SQL
    for table in ("sales_order", "order_line", "outbox"):
        assert f"CREATE TABLE bench_ceiling.{table} (" in SETUP_SQL
    assert SETUP_SQL.count("PRIMARY KEY") == 3
    assert "ON bench_ceiling.outbox (seq) WHERE published_at IS NULL" in SETUP_SQL
    assert "ON bench_ceiling.order_line (order_id)" in SETUP_SQL
    assert "GENERATED ALWAYS AS IDENTITY" in SETUP_SQL


# --- measure_ceiling against stand-in executables ---------------------------------------------


def _executable(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """psql and pgbench stand-ins logging their arguments and stdin under tmp_path/log."""
    log = tmp_path / "log"
    log.mkdir()
    psql = _executable(
        tmp_path / "psql",
        f'n=$(ls {log} | wc -l); printf "%s\\n" "$@" > {log}/$n.psql.args\n'
        f"cat > {log}/$n.psql.sql\n"
        f'grep -q "SHOW synchronous_commit" {log}/$n.psql.sql && echo " on"\n'
        "exit 0\n",
    )
    (tmp_path / "pgbench.out").write_text(PGBENCH_15)
    pgbench = _executable(
        tmp_path / "pgbench",
        f'n=$(ls {log} | wc -l); printf "%s\\n" "$@" > {log}/$n.pgbench.args\n'
        f'for a; do [ -f "$a" ] && cp "$a" {log}/script.sql; done\n'
        f"if [ -f {tmp_path}/pgbench.fail ]; then cat {tmp_path}/pgbench.fail >&2; exit 2; fi\n"
        f"cat {tmp_path}/pgbench.out\n",
    )
    monkeypatch.setattr(ceiling, "PSQL", psql)
    monkeypatch.setattr(ceiling, "PGBENCH", pgbench)
    return log


def _calls(log: Path) -> list[str]:
    """What ran, in order: 'psql: <sql>' or 'pgbench: <args>'."""
    calls = []
    for path in sorted(log.glob("*.args"), key=lambda p: int(p.name.split(".")[0])):
        n, tool = path.name.split(".")[:2]
        if tool == "psql":
            calls.append("psql: " + (log / f"{n}.psql.sql").read_text().strip())
        else:
            calls.append("pgbench: " + path.read_text().strip())
    return calls


def test_measure_ceiling_sets_up_runs_parses_and_drops(tools: Path) -> None:
    dsn = "postgresql+asyncpg://u:p@127.0.0.1:5432/db_test"

    found = measure_ceiling(dsn, clients=8, threads=2, seconds=2)

    assert found == Ceiling(
        tps=4037.7, clients=8, seconds=2.0, latency_avg_ms=1.981, synchronous_commit="on"
    )
    calls = _calls(tools)
    assert calls[0] == "psql: SHOW synchronous_commit;"
    assert calls[1] == "psql: " + SETUP_SQL.strip()
    args = calls[2].removeprefix("pgbench: ").split()
    assert args[:10] == ["-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", "2", "-f"]
    assert args[-1] == "postgresql://u:p@127.0.0.1:5432/db_test"
    assert (tools / "script.sql").read_text() == PGBENCH_SCRIPT
    assert calls[3] == "psql: DROP SCHEMA IF EXISTS bench_ceiling CASCADE;"
    assert len(calls) == 4
    assert "-v\nON_ERROR_STOP=1\n" in (tools / "0.psql.args").read_text()


def test_a_failed_pgbench_raises_with_its_stderr_and_still_drops(tools: Path) -> None:
    (tools.parent / "pgbench.fail").write_text(ABORTED_STDERR)

    with pytest.raises(CeilingError, match="Run was aborted") as raised:
        measure_ceiling("postgresql://u:p@h/db", seconds=1)

    assert 'relation "bench_ceiling.sales_order" does not exist' in str(raised.value)
    assert _calls(tools)[-1] == "psql: DROP SCHEMA IF EXISTS bench_ceiling CASCADE;"


def test_a_missing_pgbench_is_a_clear_error(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ceiling, "PGBENCH", str(tools / "no-such-pgbench"))
    with pytest.raises(CeilingError, match="not installed"):
        measure_ceiling("postgresql://u:p@h/db", seconds=1)
