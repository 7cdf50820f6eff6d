"""The load generators' pure parts: wrk's Lua script and its result line, bench.pacer's
requests and answer lines, and a run's figures."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import cast

import pytest

from bench import wrk
from bench.load import ACCEPTED, Answer, Pacer, Run, parse_answer, percentile, templates
from bench.pacer import FAILED, TIMEOUT, Spec, Summary, answer_line, order_id_of, render

# What the script's done() prints (wrk 4.1, one thread, a stack shedding some load).
WRK_OUTPUT = f"""\
Running 15s test @ http://127.0.0.1:19101/v1/orders
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    71.20ms   20.11ms 298.00ms   80.00%
  6100 requests in 15.00s, 9.10MB read
  Non-2xx or 3xx responses: 100
Requests/sec:    406.66
Transfer/sec:    621.22KB
{wrk.MARKER}{{"duration_us": 15000000, "requests": 6100, "statuses": {{"201": 6000, "503": 100}}, \
"lacking_retry_after": 4, "errors": {{"connect": 0, "read": 1, "write": 0, "timeout": 2}}, \
"latency_us": {{"p50": 65000, "p95": 110000, "p99": 180000, "max": 298000, "mean": 71200}}}}
"""


class TestWrk:
    def test_the_result_line_becomes_a_run(self) -> None:
        run = wrk.parse(WRK_OUTPUT, connections=32, cpu_s=0.61)
        assert run.seconds == 15.0
        assert run.statuses == {201: 6000, 503: 100}
        assert run.lacking_retry_after == 4
        assert run.errors["timeout"] == 2
        assert run.latency_ms["p99"] == 180.0
        assert run.rate_of(201) == 400.0

    def test_the_summary_counts_only_accepted_orders_as_achieved(self) -> None:
        summary = wrk.parse(WRK_OUTPUT, connections=32, cpu_s=0.61).summary("max")
        assert summary["achieved"] == 400.0
        assert summary["errors"] == 100 + 1 + 2  # the 503s, a read error, two late answers
        assert summary["statuses"] == {"201": 6000, "503": 100}
        assert summary["generator"]["cpu_us_per_request"] == 100.0
        assert summary["generator"]["core_share"] == pytest.approx(0.0407, abs=1e-4)

    def test_output_without_the_result_line_is_an_error(self) -> None:
        with pytest.raises(wrk.WrkError, match="no result line"):
            wrk.parse("PANIC: unprotected error in call to Lua API\n", connections=1)

    def test_the_script_splits_each_body_at_its_unique_part(self) -> None:
        lua = wrk.script(
            ['{"ref":"B-@UNIQUE@","n":1}', '{"ref":"B-@UNIQUE@","n":2}'],
            path="/v1/orders",
            headers={"Authorization": "Bearer abc"},
            prefix="run1-",
        )
        assert '{[[{"ref":"B-]], [[","n":1}]]}' in lua
        assert "[ [[Authorization]] ] = [[Bearer abc]]" in lua
        assert "local prefix = [[run1-]]" in lua
        assert 'headers["Idempotency-Key"] = unique' in lua
        assert "function done(summary, latency, requests)" in lua

    def test_text_holding_a_long_bracket_gets_a_higher_level(self) -> None:
        lua = wrk.script(["[[x]]@UNIQUE@"], path="/", headers={}, prefix="p")
        assert "{[=[[[x]]]=], [[]]}" in lua

    def test_a_uuid_unique_part_is_a_uuid(self) -> None:
        lua = wrk.script(
            ['{"order_id":"@UNIQUE@"}'], path="/", headers={}, prefix="0a1b2c3d", as_uuid=True
        )
        found = re.search(r"string\.format\(\[\[(.*?)\]\], prefix, thread_id, sent\)", lua)
        assert found is not None
        # Lua's string.format follows C's printf, as Python's % does.
        made = found.group(1) % ("0a1b2c3d", 3, 123456)
        assert uuid.UUID(made).version == 4
        assert made == "0a1b2c3d-0003-4000-8000-00000001e240"

    def test_a_uuid_prefix_is_eight_hex_digits(self) -> None:
        with pytest.raises(ValueError, match="8 lower-case hex digits"):
            wrk.script(['"@UNIQUE@"'], path="/", headers={}, prefix="run1-", as_uuid=True)

    @pytest.mark.parametrize("bodies", [[], ["no placeholder"], ["@UNIQUE@@UNIQUE@"]])
    def test_every_body_needs_one_unique_part(self, bodies: list[str]) -> None:
        with pytest.raises(ValueError, match="exactly once"):
            wrk.script(bodies, path="/", headers={}, prefix="p")


class TestPacerRequests:
    def spec(self, **changes: object) -> Spec:
        found = {
            "port": 8001,
            "rate": 100.0,
            "seconds": 2.0,
            "templates": templates(
                method="POST",
                port=8001,
                headers={"content-type": "application/json"},
                targets=["/v1/orders"],
                bodies=['{"ref":"@UNIQUE@"}', '{"ref":"@UNIQUE@","x":1}'],
            ),
            "prefix": "r-",
        }
        return Spec(**(found | changes))  # type: ignore[arg-type]

    def test_each_request_is_its_own_with_the_right_length(self) -> None:
        first = render(self.spec(), 0)
        head, _, body = first.partition(b"\r\n\r\n")
        assert head.startswith(b"POST /v1/orders HTTP/1.1\r\nhost: 127.0.0.1:8001\r\n")
        assert b"idempotency-key: r-000000000\r\n" in head
        assert body == b'{"ref":"r-000000000"}'
        assert f"content-length: {len(body)}".encode() in head
        assert render(self.spec(), 1).endswith(b'{"ref":"r-000000001","x":1}')  # the next body
        assert render(self.spec(), 2).endswith(b'{"ref":"r-000000002"}')

    def test_a_get_has_no_body_and_no_length(self) -> None:
        spec = self.spec(
            templates=templates(
                method="GET", port=8002, headers={}, targets=["/a", "/b"], unique_key=False
            )
        )
        assert render(spec, 1) == b"GET /b HTTP/1.1\r\nhost: 127.0.0.1:8002\r\n\r\n"

    def test_a_spec_survives_the_pipe(self) -> None:
        spec = self.spec(want_ids=True, timeout_s=10.0)
        assert Spec.from_json(spec.to_json()) == spec
        assert spec.total == 200

    def test_the_order_id_is_the_first_id_of_the_body(self) -> None:
        body = b'{"id":"0190c0de-0000-7000-8000-000000000001","lines":[{"id":"x"}]}'
        assert order_id_of(body) == "0190c0de-0000-7000-8000-000000000001"
        assert order_id_of(bytearray(b'{"type":"overloaded"}')) == ""


class TestAnswers:
    def test_an_answer_line_reads_back(self) -> None:
        line = answer_line(7, 1234.5, 0.0123, 201, retry_after=False, order_id="o-7")
        assert parse_answer(line) == Answer(7, 1234.5, 0.0123, 201, False, "o-7")
        shed = parse_answer(answer_line(8, 1.0, 0.002, 503, retry_after=True, order_id=""))
        assert shed.retry_after and shed.order_id == ""

    def test_the_generator_summary_gives_its_send_lag(self) -> None:
        summary = Summary(sent=3, lags_ms=[0.5, 3.0, 1.0], max_send_lag_ms=3.0)
        found = json.loads(summary.to_json())
        assert found["p99_send_lag_ms"] == 1.0 and found["max_send_lag_ms"] == 3.0
        assert "lags_ms" not in found


def answer(n: int, latency_s: float, status: int, *, retry_after: bool = False) -> Answer:
    return Answer(n, 100.0 + n / 10, latency_s, status, retry_after, f"o{n}" * (status == 201))


class TestRun:
    def run(self) -> Run:
        answers = [answer(n, 0.010 * (n + 1), 201) for n in range(8)]
        answers += [answer(8, 0.002, 503, retry_after=True), answer(9, 0.0, TIMEOUT)]
        answers += [answer(10, 0.0, FAILED)]
        return Run(offered=10, planned_seconds=1, answers=answers, generator={"seconds": 2.0})

    def test_statuses_and_latencies(self) -> None:
        run = self.run()
        assert run.statuses() == {201: 8, 503: 1, TIMEOUT: 1, FAILED: 1}
        assert run.latencies([503]) == [0.002]
        assert len(run.latencies()) == 9  # time-outs and lost connections have no latency

    def test_the_summary_names_the_ends_without_an_answer(self) -> None:
        summary = self.run().summary("10/s", latency_of=ACCEPTED)
        assert summary["statuses"] == {"timeout": 1, "no answer": 1, "201": 8, "503": 1}
        assert summary["achieved"] == 4.0  # 8 accepted over the 2 s to the last answer
        assert summary["p50_ms"] == 40.0  # of the accepted ones only
        assert summary["max_ms"] == 80.0
        assert summary["errors"] == 3 and summary["timeouts"] == 1
        assert summary["generator"]["tool"] == "bench.pacer"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 99) == 99.0


class FakeStdin:
    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None


class FakeProcess:
    """bench.pacer's process as Pacer sees it: what it read, and what it will print."""

    def __init__(self, output: str) -> None:
        self.pid = 4242
        self.stdin = FakeStdin()
        self.stdout = asyncio.StreamReader()
        self.stdout.feed_data(output.encode())
        self.stdout.feed_eof()


async def test_the_pacer_protocol_hears_the_start_each_answer_and_the_summary() -> None:
    output = (
        "start\t500.250000\n"
        + answer_line(0, 500.25, 0.012, 201, retry_after=False, order_id="o0")
        + answer_line(1, 500.26, 0.003, 503, retry_after=True, order_id="")
        + 'done\t{"cpu_s": 0.01, "seconds": 1.5, "p99_send_lag_ms": 0.4}\n'
    )
    process = FakeProcess(output)
    starts: list[float] = []
    heard: list[Answer] = []
    spec = Spec(port=1, rate=2, seconds=1, templates=[("GET / HTTP/1.1\r\n", "")], prefix="")

    run = await Pacer(cast(asyncio.subprocess.Process, process)).run(
        spec, heard.append, on_start=starts.append
    )

    assert Spec.from_json(process.stdin.written.decode()) == spec
    assert starts == [500.25]
    assert [a.status for a in heard] == [201, 503] and run.answers == heard
    assert run.seconds == 1.5 and run.cost()["p99_send_lag_ms"] == 0.4


async def test_a_pacer_that_ends_mid_run_is_an_error() -> None:
    process = FakeProcess("start\t1.0\n")
    spec = Spec(port=1, rate=2, seconds=1, templates=[("GET / HTTP/1.1\r\n", "")], prefix="")
    with pytest.raises(RuntimeError, match="without finishing"):
        await Pacer(cast(asyncio.subprocess.Process, process)).run(spec)
