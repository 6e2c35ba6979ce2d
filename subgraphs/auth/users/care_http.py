"""Care relationships asked of the appointment service over HTTP.

Fails closed: when the appointment service cannot answer (down, slow, an
unexpected reply), no patient is in anyone's care and a doctor sees only
what any doctor sees. A wrong "yes" would leak a patient's profile; a wrong
"no" only hides it until the service answers again.
"""

from __future__ import annotations

import logging
import uuid

import httpx

from subgraphs.kit.logging import REQUEST_ID_HEADER, request_id_var
from subgraphs.kit.tracing import outgoing_trace_headers

log = logging.getLogger(__name__)

CARE_PATH = "/internal/care-relationships"


class HttpCareRelationships:
    def __init__(
        self,
        base_url: str,
        *,
        router_secret: str,
        secret_header: str,
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # One client for the process: its connection pool is reused across requests.
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={secret_header: router_secret},
        )

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The pooled client (kit/tracing.py instruments it when tracing is on)."""
        return self._client

    async def patients_in_care(self, doctor_id: uuid.UUID, patient_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not patient_ids:
            return set()
        body = {"doctor_id": str(doctor_id), "patient_ids": sorted(str(pid) for pid in patient_ids)}
        # The request being served can be followed into the appointment service's logs and trace.
        headers = outgoing_trace_headers()
        if request_id := request_id_var.get():
            headers[REQUEST_ID_HEADER] = request_id
        try:
            response = await self._client.post(CARE_PATH, json=body, headers=headers)
            response.raise_for_status()
            answered = {uuid.UUID(pid) for pid in response.json()["patient_ids"]}
        except Exception as exc:  # noqa: BLE001 - any failure means "no one in care"
            log.warning("care relationships unavailable; failing closed", extra={"error": type(exc).__name__})
            return set()
        # Never more than was asked about, whatever the reply says.
        return answered & patient_ids

    async def aclose(self) -> None:
        await self._client.aclose()
