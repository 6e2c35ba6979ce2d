"""The appointment service over HTTP: `GET /appointments/{id}` with the caller's own token.

Forwarding the caller's `Authorization` makes the appointment service apply its
own rules: it answers 404 unless the caller may see the appointment, so this
service never learns about appointments the caller could not read. The request
id travels too (the kit client adds it), so both services log the same id.
"""

from __future__ import annotations

import logging
import uuid

from pydantic import ValidationError

from subgraphs.kit.errors import DependencyUnavailable, Unauthenticated
from subgraphs.kit.service_client import ServiceClient

from ..prescriptions.remote import AppointmentSnapshot

log = logging.getLogger(__name__)


class AppointmentsOverHttp:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def find(self, appointment_id: uuid.UUID, *, authorization: str | None) -> AppointmentSnapshot | None:
        headers = {"authorization": authorization} if authorization else {}
        response = await self.client.get(f"/appointments/{appointment_id}", headers=headers)
        if response.status_code in (403, 404):  # the caller may not see it: to them it does not exist
            return None
        if response.status_code == 401:
            # This service accepted the token a moment ago; it expired in between, or the services disagree on keys.
            raise Unauthenticated("The appointment service did not accept the token.")
        if response.status_code != 200:
            log.warning("unexpected answer from appointments", extra={"status": response.status_code})
            raise DependencyUnavailable("The appointment service gave an answer this service cannot use.")
        try:
            appointment = AppointmentSnapshot.model_validate_json(response.content)
        except ValidationError as exc:
            log.warning("malformed appointment from appointments", extra={"errors": exc.error_count()})
            raise DependencyUnavailable("The appointment service gave an answer this service cannot use.") from exc
        if appointment.id != appointment_id:
            raise DependencyUnavailable("The appointment service gave an answer this service cannot use.")
        return appointment
