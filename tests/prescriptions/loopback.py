"""Stand-ins for the appointment service on 127.0.0.1: a tiny HTTP server, a real uvicorn, a closed port.

The stub speaks just enough HTTP/1.1 for httpx (keep-alive, Content-Length) and
counts every request that reaches it, so tests can prove a call did or did not
touch the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid

import uvicorn


class StubAppointments:
    """Answers `mode`: "500" (every request fails), "hang" (never answers), "ok" (an eligible appointment)."""

    def __init__(self, mode: str = "500") -> None:
        self.mode = mode
        self.requests: list[dict[str, str]] = []
        self.doctor_id: uuid.UUID | None = None
        self.patient_id = uuid.uuid4()
        self.hanging = asyncio.Event()  # set once a request is being held
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> StubAppointments:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc) -> None:
        self._release.set()
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
                method, path, _ = request_line.split(" ", 2)
                self.requests.append({"method": method, "path": path, **headers})
                if self.mode == "hang":
                    self.hanging.set()
                    await self._release.wait()
                    return
                status, body = self._answer(path)
                payload = json.dumps(body).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    def _answer(self, path: str) -> tuple[int, dict]:
        if self.mode == "500":
            return 500, {"code": "INTERNAL_SERVER_ERROR"}
        appointment_id = path.rsplit("/", 1)[-1]
        return 200, {
            "id": appointment_id,
            "patient_id": str(self.patient_id),
            "doctor_id": str(self.doctor_id),
            "status": "arrived",
        }


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released, so connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RealServer:
    """A real uvicorn serving `app` on a loopback socket bound before it starts.

    Binding and listening first means the port accepts connections at once (they
    queue until uvicorn takes them), so no test has to wait for it to come up.
    """

    def __init__(self, app) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
        with contextlib.suppress(OSError):
            self.sock.close()
