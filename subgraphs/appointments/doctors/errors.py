from subgraphs.kit.errors import Conflict, NotFound


class ProfileExists(Conflict):
    code = "PROFILE_EXISTS"
    title = "Doctor profile already exists"


class DoctorNotFound(NotFound):
    code = "DOCTOR_NOT_FOUND"
    title = "Doctor not found"


class DoctorUnavailable(Conflict):
    """The profile exists, but its doctor is deactivated or no longer a doctor (roster.py)."""

    code = "DOCTOR_UNAVAILABLE"
    title = "The doctor is not taking appointments"
