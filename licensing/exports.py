"""CSV exports streamed by PostgreSQL: `COPY (<the filtered queryset's SQL>) TO STDOUT`.

Every export of the portal goes through `export_response` (`licensing/views/exports.py`, the
HTTP side: audit, headers, token access), which streams through `copy_sql` and `stream_copy`
here, so every export has the same guarantees:

- exactly the rows of the queryset it is given (build it from the list's FilterSet);
- explicit columns, a header row, never `SELECT *`: pass `ExportColumn`s (or
  `(header, source)` tuples). `source` is an ORM path (`"hostname"`, `"edition__name"`) or an
  expression (`Coalesce(...)`, `RawSQL(...)`). Never export a secret: for keys, `last5` only;
- formatting done in SQL, not in Python: timestamps as ISO 8601 UTC
  (`2026-11-25T09:30:00Z`), dates as `YYYY-MM-DD`, and every text cell that a spreadsheet would
  run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`;
- streamed in ~64 KiB chunks as PostgreSQL produces them (psycopg 3 `cursor.copy()`), so the
  exporting process stays flat in memory for any number of rows;
- a filename `<organisation-slug>-<export name>-<YYYY-MM-DD>.csv`;
- an audit entry `export.<name>` (who, which organisation, which filters) written before the
  first byte is sent;
- an invalid filter value is a 400 that names the filter by its label and query parameters
  (`invalid_filter_response`), never a silently wider file; list pages show the same words
  (`filter_errors`).

Typical export view (the fleet, MAK and KMS areas all follow this shape)::

    from licensing.exports import ExportColumn
    from licensing.scoping import resolve_organisation
    from licensing.views.exports import export_response, token_aware

    POOL_COLUMNS = [
        ExportColumn("pool_id", "id"),
        ExportColumn("edition", "edition__name"),
        ExportColumn("activation_limit", Sum("keys__activation_limit")),
        ExportColumn("created_at", "created_at"),
    ]

    @token_aware                      # accepts a session or `Authorization: Bearer <token>`
    def pool_export(request):
        org = resolve_organisation(request, policy.Action.EXPORT)  # 404 outsiders, 403 role
        qs = MakPool.objects.for_organisation(org)  # then apply the list's FilterSet
        return export_response(request, name="mak-usage", queryset=qs,
                               columns=POOL_COLUMNS, organisation=org)

The organisation comes from `licensing.scoping.resolve_organisation`, the one rule of pages,
exports and the API: `?organisation=<slug>` (a shared or scheduled link names it) must be one
the caller belongs to, and the token's own if a token is used, or 404; else the token's
organisation, else the session's current one. Superusers may pass `?organisation=all`
(organisation None) where a view allows it (`allow_all=True`).

Connection handling: the COPY runs on Django's own connection of the request thread while the
WSGI server iterates the response; Django closes (or returns to the pool) that connection on
`request_finished`, which is sent only after the last chunk, in `response.close()`. If the
client goes away mid-stream the generator is closed, psycopg cancels the COPY and the
connection stays usable. Run exports under a threaded server (gunicorn gthread) because a
stream holds its thread for the duration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import F, QuerySet
from django.http import HttpResponse

CHUNK_BYTES = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_TEXT_TYPES = (
    models.CharField,
    models.TextField,
    models.GenericIPAddressField,
    models.JSONField,
)


@dataclass(frozen=True)
class ExportColumn:
    """One CSV column: its header and where the value comes from (ORM path or expression)."""

    header: str
    source: Any
    # "auto" picks by the source's field type; "text" forces formula neutralisation,
    # "raw" emits the value as PostgreSQL prints it (numbers, booleans).
    kind: str = "auto"


def as_columns(columns: Sequence[ExportColumn | tuple[str, Any]]) -> list[ExportColumn]:
    result = []
    for col in columns:
        result.append(col if isinstance(col, ExportColumn) else ExportColumn(*col))
    if not result:
        raise ValueError("An export needs at least one explicit column.")
    return result


def _quote_ident(name: str) -> str:
    # Headers are code, not user input; still quote them properly. "%" is doubled because the
    # statement goes through psycopg's client-side parameter merging.
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def _formatted(ref: str, output_field: Any, kind: str) -> str:
    """SQL that renders one column of the inner query (`ref` = "t"."cN") for the CSV."""
    if kind == "raw":
        return ref
    if kind == "auto":
        if isinstance(output_field, models.DateTimeField):
            return f"""to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        if isinstance(output_field, models.DateField):
            return f"to_char({ref}, 'YYYY-MM-DD')"
        if isinstance(output_field, models.BooleanField):
            return f"CASE WHEN {ref} THEN 'true' WHEN NOT {ref} THEN 'false' END"
        if isinstance(output_field, models.UUIDField):
            return f"{ref}::text"
        if isinstance(output_field, models.GenericIPAddressField):
            return f"host({ref})"  # inet::text would append the netmask ("/32")
        if not isinstance(output_field, _TEXT_TYPES):
            return ref  # numbers: a leading "-" is a sign, not a formula
    text = f"{ref}::text"
    # A spreadsheet runs =, +, -, @ (and tab/CR tricks) as formulas: prefix those with '.
    return (
        f"CASE WHEN left({text}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN '''' || {text} ELSE {text} END"
    )


def copy_sql(
    queryset: QuerySet, columns: Sequence[ExportColumn | tuple[str, Any]]
) -> tuple[str, tuple[Any, ...]]:
    """The `COPY (...) TO STDOUT` statement and parameters for a queryset and its columns."""
    cols = as_columns(columns)
    exprs = {
        f"c{i}": (F(c.source) if isinstance(c.source, str) else c.source)
        for i, c in enumerate(cols)
    }
    inner = queryset.values(**exprs)
    sql, params = inner.query.sql_with_params()
    select = inner.query.annotation_select
    outer = []
    for i, c in enumerate(cols):
        output_field = select[f"c{i}"].output_field
        outer.append(f"{_formatted(f't.c{i}', output_field, c.kind)} AS {_quote_ident(c.header)}")
    statement = (
        f"COPY (SELECT {', '.join(outer)} FROM ({sql}) AS t) "
        "TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
    )
    return statement, tuple(params)


def stream_copy(
    statement: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS
) -> Iterator[bytes]:
    """Yield the COPY output in chunks of about CHUNK_BYTES (never the whole result), from the
    database `using` (the replica when the router chose it for the export's queryset)."""
    conn = connections[using]
    conn.ensure_connection()
    buffer = bytearray()
    # The raw psycopg cursor: Django's debug wrapper (DEBUG=1, `make run`) has a narrower copy().
    with conn.cursor() as cursor, cursor.cursor.copy(statement, params or None) as copy:
        for data in copy:
            buffer += data
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


@dataclass(frozen=True)
class FilterError:
    """One invalid filter in a user's words: its label, the query parameters that set it, and
    what is wrong (`label` is None for an error about the filters together)."""

    label: str | None
    parameters: tuple[str, ...]
    messages: tuple[str, ...]

    def __str__(self) -> str:
        text = " ".join(self.messages)
        if self.label is None:
            return text
        return f"{self.label} ({', '.join(self.parameters)}): {text}"


def filter_errors(filterset: Any) -> list[FilterError]:
    """The errors of a bound FilterSet (or a filter form), named by each filter's label and
    query parameters rather than by its internal field name; empty when it is valid."""
    if not filterset.is_bound or filterset.is_valid():
        return []
    form = getattr(filterset, "form", filterset)
    result = []
    for name, messages in form.errors.items():
        field = form.fields.get(name)
        if field is None:
            result.append(FilterError(None, (), tuple(messages)))
            continue
        widget = field.widget
        # A range filter is set by several parameters (last_renewal_after, _before).
        if hasattr(widget, "suffixed"):
            parameters = tuple(widget.suffixed(name, s) for s in widget.suffixes)
        elif isinstance(widget, forms.MultiWidget):
            parameters = tuple(name + s for s in widget.widgets_names)
        else:
            parameters = (name,)
        label = str(field.label) if field.label else name.replace("_", " ").capitalize()
        result.append(FilterError(label, parameters, tuple(messages)))
    return result


def invalid_filter_response(filterset: Any) -> HttpResponse | None:
    """400 naming the bad filters of a bound filterset (or filter form), or None when it is
    valid: an export with a wrong filter is an error, never a silently wider file."""
    errors = filter_errors(filterset)
    if not errors:
        return None
    return HttpResponse(
        "Invalid filter: " + "; ".join(str(e) for e in errors) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )
