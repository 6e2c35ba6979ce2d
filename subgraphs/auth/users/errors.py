from subgraphs.kit.errors import Conflict, Unauthenticated, ValidationFailed


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    title = "Email already registered"


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"
    title = "Invalid credentials"


class AccountDisabled(Unauthenticated):
    # Same code as any other bad token: a disabled account is told nothing more.
    title = "Authentication required"


class CurrentPasswordRequired(ValidationFailed):
    title = "The current password is required to set a new one"
