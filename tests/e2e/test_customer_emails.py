"""Customer e-mails against the running stack: an order placed and driven to shipped through
the services' APIs; its confirmation and its shipment e-mail (with the tracking link) arrive
in the run's SMTP sink once each, and the ledger lists them as sent. Then every record of the
order goes on its topic again, as it is (a redelivery) and under a new event id (a second
event about the same fact): still one e-mail each."""

from __future__ import annotations

import uuid

import httpx
from aiokafka import AIOKafkaProducer

from libs.messaging.envelope import Envelope
from tests.e2e.conftest import Stack
from tests.e2e.flows import wait_for_status
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support import environment
from tests.support.api import Api
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import consumed_to_end, read_topic
from tests.support.mailbox import Mailbox
from tests.support.polling import eventually

# What notifications reads that says anything about an order's e-mails.
ORDER_TOPICS = ["oms.order.events", "oms.orchestration.events"]

TRACKING = "00340434161094042557"
TRACKING_URL = f"https://track.example.com/dhl/{TRACKING}"


async def test_the_confirmation_and_the_shipment_email_arrive_once_each(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    sku = w.sku("MAILMUG")
    await w.location("WH-MAIL", BERLIN, stock={sku: 10})
    email = f"mail-{sku.lower()}@example.com"
    order = await w.place([(sku, 2)], email=email)
    (f,) = await w.open_fulfillments(order["id"], 1)
    await wait_for_status(http, urls, order["id"], "confirmed")
    for action in ("accept", "pick", "pack"):
        assert (await w.act(f["id"], action)).status_code == 200
    shipped = await w.act(
        f["id"],
        "ship",
        {"carrier": "dhl", "tracking_number": TRACKING, "tracking_url": TRACKING_URL},
    )
    assert shipped.status_code == 200, shipped.content
    await wait_for_status(http, urls, order["id"], "shipped")

    mailbox = Mailbox(environment.MAIL_DIR)
    number = order["order_number"]
    await mailbox.wait_for(
        lambda m: m.to_address == email and number in m.subject,
        count=2,
        timeout=30,
        what="the confirmation and the shipment e-mail",
    )
    ledger_url = f"{urls['notifications']}/v1/notifications"

    async def ledger() -> list[dict[str, object]]:
        r = await http.get(ledger_url, params={"order_id": order["id"]})
        assert r.status_code == 200, r.text
        items: list[dict[str, object]] = r.json()["items"]
        return items

    items = await eventually(
        ledger,
        until=lambda items: len(items) == 2 and all(i["status"] == "sent" for i in items),
        timeout=15,
        what="both notifications recorded as sent",
    )
    assert sorted(str(i["kind"]) for i in items) == ["order_confirmed", "shipped"]
    mails = mailbox.matching(lambda m: m.to_address == email)
    # Once each: nothing more for the order, whatever the services redelivered meanwhile.
    assert len(mails) == 2, [m.subject for m in mails]
    shipment = next(m for m in mails if TRACKING_URL in m.text)
    assert TRACKING_URL in shipment.html
    assert {m.message_id for m in mails} == {str(i["message_id"]) for i in items}

    sent = await send_the_orders_records_again(order["id"])
    assert sent >= 2 * 4  # placed, confirmed, shipped... each twice
    # Every consumer of those topics has handled them all (notifications and the others).
    await consumed_to_end({"notifications": ORDER_TOPICS}, timeout=60)
    await mailbox_settles(http, ledger_url, order["id"])
    again = mailbox.matching(lambda m: m.to_address == email)
    assert sorted(m.message_id for m in again) == sorted(m.message_id for m in mails)
    assert len(await ledger()) == 2


async def send_the_orders_records_again(order_id: str) -> int:
    """Each of the order's records on ORDER_TOPICS twice more: as it was (a redelivery, the
    same event id) and under a new event id (another event about the same business fact)."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
    await producer.start()
    sent = 0
    try:
        for topic in ORDER_TOPICS:
            for record in await read_topic(topic):
                if record.key != order_id.encode():
                    continue
                event = Envelope.from_bytes(record.value)
                renamed = event.model_copy(update={"id": str(uuid.uuid4())})
                for value in (record.value, renamed.to_bytes()):
                    await producer.send_and_wait(
                        TOPIC_PREFIX + topic,
                        key=record.key,
                        value=value,
                        headers=list(record.headers),
                    )
                    sent += 1
    finally:
        await producer.stop()
    return sent


async def mailbox_settles(http: httpx.AsyncClient, ledger_url: str, order_id: str) -> None:
    """No notification of the order pending: anything the records added would be sent by now."""

    async def pending() -> list[object]:
        r = await http.get(ledger_url, params={"order_id": order_id})
        return [i for i in r.json()["items"] if i["status"] == "pending"]

    await eventually(pending, until=lambda p: not p, timeout=30, what="no pending notification")
