from subgraphs.kit.errors import Conflict, NotFound


class ProfileExists(Conflict):
    code = "PROFILE_EXISTS"
    title = "Doctor profile already exists"


class DoctorNotFound(NotFound):
    code = "DOCTOR_NOT_FOUND"
    title = "Doctor not found"
