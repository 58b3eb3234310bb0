"""The one family of domain errors.

Services raise these (never Django's or DRF's ValidationError, never a bare ValueError that a
user should read); the faces map them once:
- the API: `licensing.api.errors.exception_handler` answers `status_code` with
  `{"detail": ..., "code": ..., "errors": {field: [messages]}}`;
- pages: `DomainError.apply_to_form(form)` puts field errors on their fields (the rest on the
  form), or the view shows `str(error)` as a message.

Every message is safe to show to the user: it never contains a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NON_FIELD = "__all__"


class DomainError(Exception):
    """A rule of the domain said no. The message is safe to show to the user."""

    code = "domain_error"
    status_code = 400

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        field_errors: Mapping[str, str | Iterable[str]] | None = None,
    ) -> None:
        self.field_errors: dict[str, list[str]] = {
            field: [errors] if isinstance(errors, str) else list(errors)
            for field, errors in (field_errors or {}).items()
        }
        if not message:
            message = " ".join(m for msgs in self.field_errors.values() for m in msgs)
        super().__init__(message)
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": str(self), "code": self.code}
        if self.field_errors:
            body["errors"] = self.field_errors
        return body

    def apply_to_form(self, form: Any) -> None:
        """Show this error on a Django form: each field's messages on that field when the form
        has it, everything else as a form-wide error."""
        if not self.field_errors:
            form.add_error(None, str(self))
            return
        for field, messages in self.field_errors.items():
            form.add_error(field if field in form.fields else None, messages)


class InvalidInput(DomainError):
    """The input breaks a rule of the domain (field errors say which field)."""

    code = "invalid"
    status_code = 400


class ConflictError(DomainError):
    """The object changed under us (already decided, already exhausted, a duplicate...)."""

    code = "conflict"
    status_code = 409


class TooLarge(DomainError):
    """The input is larger than the portal accepts; nothing was written."""

    code = "too_large"
    status_code = 413
