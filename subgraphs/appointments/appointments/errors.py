from subgraphs.kit.errors import Conflict, UnprocessableRule


class SlotTaken(Conflict):
    code = "SLOT_TAKEN"
    title = "The time slot is taken"


class InvalidStatusTransition(Conflict):
    code = "INVALID_STATUS_TRANSITION"
    title = "This status change is not allowed"


class NotBooked(Conflict):
    code = "NOT_BOOKED"
    title = "Only a booked appointment can be changed this way"


class OutsideWorkingHours(UnprocessableRule):
    code = "OUTSIDE_WORKING_HOURS"
    title = "Outside the doctor's working hours"


class InThePast(UnprocessableRule):
    code = "IN_THE_PAST"
    title = "The appointment would start in the past"


class InvalidTimeRange(UnprocessableRule):
    code = "INVALID_TIME_RANGE"
    title = "The end must come after the start"
