"""The `Doctor` entity of the appointments subgraph, referenced by `Prescription.doctor`.

Its id is the doctor's user id (appointments: a profile's id *is* its doctor's
user id), which is what `prescriptions.doctor_id` stores. This subgraph adds no
field to `Doctor`, so it cannot resolve one: the key is `resolvable: false`.
"""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet


@strawberry.federation.type(name="Doctor", directives=[Key(fields=FieldSet("id"), resolvable=False)])
class DoctorType:
    id: strawberry.ID
