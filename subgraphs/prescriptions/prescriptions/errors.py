from subgraphs.kit.errors import Conflict, NotFound


class AppointmentNotFound(NotFound):
    # Also what a doctor gets for another doctor's appointment: its existence is not revealed.
    code = "APPOINTMENT_NOT_FOUND"
    title = "Appointment not found"


class AppointmentNotEligible(Conflict):
    code = "APPOINTMENT_NOT_ELIGIBLE"
    title = "Prescriptions are issued only for an arrived or fulfilled appointment"


class VersionConflict(Conflict):
    code = "VERSION_CONFLICT"
    title = "The prescription changed since it was read"


class InvalidStatusTransition(Conflict):
    code = "INVALID_STATUS_TRANSITION"
    title = "This status change is not allowed"


class PrescriptionClosed(Conflict):
    code = "PRESCRIPTION_CLOSED"
    title = "A completed, cancelled or stopped prescription no longer changes"
