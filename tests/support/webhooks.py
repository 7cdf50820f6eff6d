"""A real webhook receiver for the tests (tools.webhook_receiver), served by uvicorn on a port
of its own in the test's event loop, that can go down and come back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn

from tools.webhook_receiver import Receiver


class ServedReceiver:
    def __init__(self, receiver: Receiver, port: int = 0) -> None:
        self.receiver = receiver
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.receiver.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = asyncio.get_running_loop().time() + 10
        while not self._server.started:
            assert asyncio.get_running_loop().time() < deadline, "the receiver did not start"
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Down: the port refuses connections until start() (on the same port)."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[ServedReceiver]:
    served = ServedReceiver(receiver)
    await served.start()
    try:
        yield served
    finally:
        await served.stop()
