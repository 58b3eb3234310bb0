class DomainError(Exception):
    """A rule of the domain said no. The message is safe to show to the user."""

    code = "domain_error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class ConflictError(DomainError):
    """The object changed under us (already decided, already exhausted...)."""

    code = "conflict"
    status_code = 409
