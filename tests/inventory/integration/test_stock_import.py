"""Bulk stock import end to end in-process: upload over HTTP, the apply job driven by hand
(`apply_next_import`, the job's one pass), results read back over HTTP and from the tables."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
from sqlalchemy import func, select

from libs.http.pagination import encode_cursor
from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import (
    plumbing,
    stock_import,
    stock_import_row,
    stock_level,
    stock_movement,
)
from services.inventory.bootstrap import apply_next_import
from services.inventory.domain.import_rows import MAX_ROWS
from services.inventory.service_layer.handlers.import_apply import APPLY_CHUNK_ROWS
from tests.inventory.integration.conftest import create_location, stock, unique

CSV = "text/csv"
NDJSON = "application/x-ndjson"
EXPECTED_AT = "2030-01-01T00:00:00Z"


def csv_rows(rows: Iterable[tuple[Any, ...]]) -> str:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def csv_file(rows: Iterable[tuple[Any, ...]], header: str = "location_code,sku,on_hand") -> str:
    return header + "\n" + csv_rows(rows)


async def upload(
    client: httpx.AsyncClient,
    body: str | bytes | AsyncIterator[bytes],
    *,
    content_type: str = CSV,
    mode: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params = {"mode": mode} if mode else {}
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        "/v1/stock/imports",
        content=content,
        params=params,
        headers={"content-type": content_type} | (headers or {}),
    )


async def accepted(client: httpx.AsyncClient, body: str, **kwargs: Any) -> dict[str, Any]:
    r = await upload(client, body, **kwargs)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/stock/imports/{r.json()['id']}"
    return dict(r.json())


async def applied(
    container: ServiceContainer, client: httpx.AsyncClient, import_id: str
) -> dict[str, Any]:
    """Run the job's passes until this import is finished; its final state."""
    deadline = time.monotonic() + 60
    while True:
        found = (await client.get(f"/v1/stock/imports/{import_id}")).json()
        if found["status"] in ("completed", "failed"):
            return dict(found)
        assert time.monotonic() < deadline, f"import {import_id} never finished: {found}"
        await apply_next_import(bus=container.bus, session_factory=container.session_factory)


async def on_hand(client: httpx.AsyncClient, sku: str) -> dict[str, tuple[int, int]]:
    """(on_hand, safety_stock) per location of the SKU."""
    r = await client.get(f"/v1/stock/{sku}")
    if r.status_code == 404:
        return {}
    return {x["location_code"]: (x["on_hand"], x["safety_stock"]) for x in r.json()["locations"]}


async def scalar(container: ServiceContainer, query: Any) -> Any:
    async with container.session_factory() as s:
        return await s.scalar(query)


async def ledger(container: ServiceContainer, import_id: str) -> list[tuple[str, str, int, int]]:
    async with container.session_factory() as s:
        rows = await s.execute(
            select(
                stock_movement.c.location_code,
                stock_movement.c.sku,
                stock_movement.c.on_hand_delta,
                stock_movement.c.on_hand_after,
            )
            .where(
                stock_movement.c.reference == f"import:{import_id}",
                stock_movement.c.reason == "imported",
            )
            .order_by(stock_movement.c.location_code, stock_movement.c.sku)
        )
        return [tuple(r) for r in rows]


async def stock_changed(container: ServiceContainer, sku: str) -> list[dict[str, Any]]:
    outbox = plumbing.outbox
    async with container.session_factory() as s:
        rows = await s.execute(
            select(outbox.c.payload)
            .where(outbox.c.key == sku, outbox.c.event_type == "oms.inventory.stock_changed")
            .order_by(outbox.c.seq)
        )
        return [r.payload["data"] for r in rows]


async def location(client: httpx.AsyncClient) -> str:
    code = unique("WH")
    await create_location(client, code)
    return code


class TestApply:
    async def test_a_csv_file_sets_counts_through_the_ledger_and_announces_them(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh1, wh2 = await location(client), await location(client)
        lamp, desk = unique("LAMP"), unique("DESK")
        await stock(client, wh1, lamp, 10)
        body = csv_file(
            [(wh1, lamp, 25, 3), (wh2, lamp, 7, ""), (wh1, desk, 4, "")],
            header="location_code,sku,on_hand,safety_stock",
        )
        created = await accepted(client, body)
        assert (created["status"], created["format"], created["mode"]) == (
            "queued",
            "csv",
            "all_or_nothing",
        )
        assert (created["rows_received"], created["rows_invalid"]) == (3, 0)

        done = await applied(container, client, created["id"])

        assert (done["status"], done["rows_applied"], done["errors"]) == ("completed", 3, [])
        assert done["finished_at"] is not None and done["failure_reason"] is None
        assert await on_hand(client, lamp) == {wh1: (25, 3), wh2: (7, 0)}
        assert await on_hand(client, desk) == {wh1: (4, 0)}
        assert sorted(await ledger(container, created["id"])) == sorted(
            [(wh1, lamp, 15, 25), (wh2, lamp, 7, 7), (wh1, desk, 4, 4)]
        )
        events = (await stock_changed(container, lamp))[-2:]
        assert {(e["location_code"], e["on_hand"], e["safety_stock"]) for e in events} == {
            (wh1, 25, 3),
            (wh2, 7, 0),
        }
        assert {tuple(e["reasons"]) for e in events} == {
            ("imported", "safety_stock"),
            ("imported",),
        }
        assert all(e["network_available"] == 22 + 7 for e in events)
        staged = select(func.count()).where(stock_import_row.c.import_id == created["id"])
        assert await scalar(container, staged) == 0

    async def test_an_ndjson_file_streamed_in_pieces(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("MUG")
        lines = [
            f'{{"location_code": "{wh}", "sku": "{sku}-{n}", "on_hand": {n}}}\n'.encode()
            for n in range(1, 6)
        ]

        async def pieces() -> AsyncIterator[bytes]:
            data = b"".join(lines)
            for start in range(0, len(data), 13):
                yield data[start : start + 13]

        r = await upload(client, pieces(), content_type=NDJSON)
        assert r.status_code == 202, r.text
        done = await applied(container, client, r.json()["id"])
        assert (done["format"], done["rows_applied"]) == ("ndjson", 5)
        assert await on_hand(client, f"{sku}-5") == {wh: (5, 0)}

    async def test_rows_that_change_nothing_write_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("CUP")
        await stock(client, wh, sku, 5)
        events_before = len(await stock_changed(container, sku))
        done = await applied(
            container, client, (await accepted(client, csv_file([(wh, sku, 5)])))["id"]
        )
        assert (done["status"], done["rows_applied"]) == ("completed", 1)
        assert await ledger(container, done["id"]) == []
        assert len(await stock_changed(container, sku)) == events_before


class TestBadRows:
    async def test_all_or_nothing_with_one_bad_row_applies_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("LAMP")
        body = csv_file([(wh, f"{sku}-1", 5), (wh, f"{sku}-2", -1), (wh, f"{sku}-3", 5)])
        created = await accepted(client, body)
        # all-or-nothing knows at once that it cannot succeed: failed, never queued.
        assert created["status"] == "failed"
        assert "1 invalid row" in created["failure_reason"]
        assert created["errors"] == [{"line_number": 3, "message": "on_hand must not be negative"}]
        assert (created["rows_received"], created["rows_invalid"], created["rows_applied"]) == (
            3,
            1,
            0,
        )
        assert await on_hand(client, f"{sku}-1") == {}

    async def test_partial_applies_the_good_rows_and_reports_the_bad(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku, ghost = await location(client), unique("LAMP"), unique("NOWHERE")
        body = csv_file(
            [
                (wh, f"{sku}-1", 5),
                (wh, f"{sku}-2", "x"),
                (ghost, f"{sku}-3", 1),
                (wh, f"{sku}-4", 6),
                (wh, f"{sku}-1", 9),
            ]
        )
        created = await accepted(client, body, mode="partial")
        assert (created["status"], created["mode"]) == ("queued", "partial")
        done = await applied(container, client, created["id"])
        assert (done["status"], done["rows_applied"], done["rows_invalid"]) == ("completed", 2, 3)
        assert done["errors"] == [
            {"line_number": 3, "message": "on_hand must be a whole number"},
            {"line_number": 4, "message": f"unknown location {ghost!r}"},
            {
                "line_number": 6,
                "message": f"duplicate of line 2: {wh}/{sku}-1 appears twice",
            },
        ]
        assert await on_hand(client, f"{sku}-1") == {wh: (5, 0)}
        assert await on_hand(client, f"{sku}-4") == {wh: (6, 0)}
        assert await on_hand(client, f"{sku}-3") == {}

    async def test_every_bad_row_is_listed_page_by_page(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh = await location(client)
        created = await accepted(
            client, csv_file([(wh, f"S{n}", -n) for n in range(1, 121)]), mode="partial"
        )
        assert len(created["errors"]) == 50 and created["errors_next_cursor"]
        url = f"/v1/stock/imports/{created['id']}/errors"
        lines: list[int] = []
        cursor: str | None = None
        while True:
            page = (
                await client.get(url, params={"limit": 45} | ({"cursor": cursor} if cursor else {}))
            ).json()
            lines += [e["line_number"] for e in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert lines == list(range(2, 122))

    async def test_a_cursor_with_a_line_number_of_the_wrong_type_is_422(
        self, client: httpx.AsyncClient
    ) -> None:
        wh = await location(client)
        created = await accepted(client, csv_file([(wh, "S1", -1)]), mode="partial")
        for line in ("2", True, 2.5):  # decodable, yet no line number this list issued
            r = await client.get(
                f"/v1/stock/imports/{created['id']}/errors",
                params={"cursor": encode_cursor([line])},
            )
            assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor"), r.text

    async def test_a_row_below_what_is_reserved_fails_all_or_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku, other = await location(client), unique("LAMP"), unique("DESK")
        await stock(client, wh, sku, 10)
        await reserve(client, wh, sku, 4)
        created = await accepted(client, csv_file([(wh, other, 8), (wh, sku, 3)]))
        done = await applied(container, client, created["id"])
        assert done["status"] == "failed"
        assert "1 row(s) would take on_hand below reserved" in done["failure_reason"]
        assert [e["line_number"] for e in done["errors"]] == [3]
        assert "below the 4 units reserved" in done["errors"][0]["message"]
        assert (done["rows_applied"], done["rows_invalid"]) == (0, 1)
        assert await on_hand(client, sku) == {wh: (10, 0)}
        assert await on_hand(client, other) == {}
        assert await ledger(container, done["id"]) == []

    async def test_a_row_below_what_is_reserved_is_skipped_in_partial(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku, other = await location(client), unique("LAMP"), unique("DESK")
        await stock(client, wh, sku, 10)
        await reserve(client, wh, sku, 4)
        created = await accepted(client, csv_file([(wh, other, 8), (wh, sku, 3)]), mode="partial")
        done = await applied(container, client, created["id"])
        assert (done["status"], done["rows_applied"], done["rows_invalid"]) == ("completed", 1, 1)
        assert [e["line_number"] for e in done["errors"]] == [3]
        assert await on_hand(client, sku) == {wh: (10, 0)}
        assert await on_hand(client, other) == {wh: (8, 0)}


class TestRefused:
    async def test_more_than_the_maximum_rows_fails_the_import(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh = await location(client)
        body = csv_file((wh, f"S{n}", 1) for n in range(MAX_ROWS + 1))
        assert len(body) > 1024 * 1024  # over the default body limit, under the import's

        r = await upload(client, body)

        assert (r.status_code, r.json()["code"]) == (422, "import_too_large")
        import_id = r.json()["extensions"]["import_id"]
        found = (await client.get(f"/v1/stock/imports/{import_id}")).json()
        assert (found.get("status"), found.get("rows_applied")) == ("failed", 0), found
        assert "more than 100000 rows" in found["failure_reason"]
        staged = select(func.count()).where(stock_import_row.c.import_id == import_id)
        assert await scalar(container, staged) == 0

    async def test_another_content_type_is_refused(self, client: httpx.AsyncClient) -> None:
        r = await upload(client, '{"a": 1}', content_type="application/json")
        assert (r.status_code, r.json()["code"]) == (422, "unsupported_import_format")

    async def test_a_file_with_a_bad_header_fails(self, client: httpx.AsyncClient) -> None:
        created = await accepted(client, "location,sku,on_hand\nWH,A,1\n", mode="partial")
        assert created["status"] == "failed"
        assert "missing column(s): location_code" in created["failure_reason"]
        assert [e["line_number"] for e in created["errors"]] == [1]

    async def test_other_endpoints_keep_the_one_mebibyte_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.post("/v1/locations", content=b" " * (1024 * 1024 + 1))
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")

    async def test_an_unknown_import_is_404(self, client: httpx.AsyncClient) -> None:
        for url in (
            f"/v1/stock/imports/{uuid.uuid4()}",
            f"/v1/stock/imports/{uuid.uuid4()}/errors",
        ):
            r = await client.get(url)
            assert (r.status_code, r.json()["code"]) == (404, "import_not_found")


class TestIdempotencyKey:
    async def test_the_same_file_under_one_key_is_one_import(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku, key = await location(client), unique("LAMP"), str(uuid.uuid4())
        body = csv_file([(wh, sku, 3)])
        first = await accepted(client, body, headers={"Idempotency-Key": key})
        again = await accepted(client, body, headers={"Idempotency-Key": key})
        assert again["id"] == first["id"]
        count = select(func.count()).where(stock_import.c.id == uuid.UUID(first["id"]))
        assert await scalar(container, count) == 1
        other = await upload(client, csv_file([(wh, sku, 4)]), headers={"Idempotency-Key": key})
        assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


class TestProgress:
    async def test_rows_received_shows_while_the_file_arrives(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("P")
        seen: list[tuple[str, int]] = []

        async def rows() -> AsyncIterator[bytes]:
            yield b"location_code,sku,on_hand\n"
            for part in range(3):
                yield csv_rows((wh, f"{sku}-{part}-{n}", n) for n in range(2500)).encode()
                # The server has staged what it read so far; a second connection sees it.
                async with container.session_factory() as s:
                    row = (
                        await s.execute(
                            select(stock_import.c.status, stock_import.c.rows_received)
                            .order_by(stock_import.c.created_at.desc())
                            .limit(1)
                        )
                    ).one()
                seen.append((row.status, row.rows_received))

        r = await upload(client, rows(), mode="partial")
        assert r.status_code == 202, r.text
        assert seen[0][0] == "receiving" and 0 < seen[0][1] < 7500
        assert [n for _, n in seen] == sorted(n for _, n in seen)
        assert r.json()["rows_received"] == 7500
        assert (await applied(container, client, r.json()["id"]))["rows_applied"] == 7500

    async def test_rows_applied_shows_while_the_import_is_applied(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("Q")
        total = 2 * APPLY_CHUNK_ROWS + 10
        last = f"{sku}-{total - 1:06d}"
        await stock(client, wh, last, 1)
        while await apply_next_import(bus=container.bus, session_factory=container.session_factory):
            pass  # imports other tests left queued go first
        created = await accepted(
            client, csv_file((wh, f"{sku}-{n:06d}", 2) for n in range(total)), mode="partial"
        )
        # Hold the last chunk's row: the job applies two chunks, then waits for it.
        async with container.engine.connect() as blocker:
            await blocker.execute(
                select(stock_level.c.sku)
                .where(stock_level.c.location_code == wh, stock_level.c.sku == last)
                .with_for_update()
            )
            job = asyncio.create_task(
                apply_next_import(bus=container.bus, session_factory=container.session_factory)
            )
            progress = await poll(
                client, created["id"], lambda x: x["rows_applied"] == 2 * APPLY_CHUNK_ROWS
            )
            assert progress["status"] == "applying"
            assert await on_hand(client, f"{sku}-000000") == {}  # nothing committed yet
            await blocker.rollback()
        await job
        done = (await client.get(f"/v1/stock/imports/{created['id']}")).json()
        assert (done["status"], done["rows_applied"]) == ("completed", total)


class TestBackorders:
    async def test_an_import_serves_orders_waiting_at_its_rows(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        wh, sku = await location(client), unique("LAMP")
        await stock(client, wh, sku, 1)
        inbound = {"location_code": wh, "sku": sku, "quantity": 10, "expected_at": EXPECTED_AT}
        assert (await client.post("/v1/inbound", json=inbound)).status_code == 201
        res = await reserve(client, wh, sku, 3, allow_backorder=True)
        assert [(x["held"], x["backordered"]) for x in res["lines"]] == [(1, 2)]

        created = await accepted(client, csv_file([(wh, sku, 5)]))
        done = await applied(container, client, created["id"])

        assert done["status"] == "completed"
        served = (await client.get(f"/v1/reservations/{res['id']}")).json()
        assert [(x["held"], x["backordered"]) for x in served["lines"]] == [(3, 0)]
        events = await stock_changed(container, sku)
        assert (events[-1]["on_hand"], events[-1]["reserved"]) == (5, 3)
        assert set(events[-1]["reasons"]) == {"imported", "backorder_allocated"}


async def reserve(
    client: httpx.AsyncClient, wh: str, sku: str, quantity: int, **extra: Any
) -> dict[str, Any]:
    body = {
        "order_id": str(uuid.uuid4()),
        "lines": [{"sku": sku, "quantity": quantity, "location_code": wh}],
    } | extra
    r = await client.post("/v1/reservations", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def poll(client: httpx.AsyncClient, import_id: str, until: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        found = dict((await client.get(f"/v1/stock/imports/{import_id}")).json())
        if until(found):
            return found
        assert time.monotonic() < deadline, f"gave up waiting: {found}"
        await asyncio.sleep(0.05)
