"""The four services in process, on an event loop of their own, for synchronous fuzzers.

Hypothesis (and the schemathesis strategies on top of it) run synchronous test bodies;
the apps, their database pools and their clients live on one event loop in a thread of
their own (`LiveSystem`), and each generated request is handed to that loop. Everything
the apps touch stays on one loop, so asyncpg and aiosqlite connections are never shared
between loops.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

import httpx

from ..system import in_process_system

# Examples per (operation, role): small and deterministic in the normal suite; raise it for a long run:
#   FUZZ_EXAMPLES=500 ./run test tests/fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
ROLES = ("anonymous", "patient", "doctor", "admin")


class LiveSystem:
    def __init__(self, database_for, tmp_path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-system", daemon=True)
        self.thread.start()
        self._stop = asyncio.Event()
        ready: Future = Future()
        self._held = asyncio.run_coroutine_threadsafe(self._hold(database_for, tmp_path, ready), self.loop)
        self.system, self.headers = ready.result(timeout=120)

    async def _hold(self, database_for, tmp_path, ready: Future) -> None:
        try:
            async with in_process_system(database_for, tmp_path) as system:
                people = {
                    role: await (system.doctor() if role == "doctor" else system.user(role)) for role in ROLES[1:]
                }
                headers = {"anonymous": {}, **{role: person["headers"] for role, person in people.items()}}
                # Fuzzing books a lot for one patient; the limit itself is tested elsewhere.
                system.apps["appointments"].state.appointments.booking_limit.limit = 1_000_000
                appointment = await system.appointment(people["doctor"], people["patient"], "arrived")
                prescription = await system.prescription(people["doctor"], appointment)
                # Real ids for path parameters, so that generated bodies reach past "not found".
                self.ids = {
                    "appointment_id": appointment["id"],
                    "prescription_id": prescription["id"],
                    "doctor_id": people["doctor"]["id"],
                    "user_id": people["patient"]["id"],
                }
                ready.set_result((system, headers))
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def call(self, coroutine: Coroutine, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.system.clients[service]

    def request(self, service: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self.client(service).request(**kwargs)
            await response.aread()
            return response

        return self.call(send())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        try:
            self._held.result(timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()
