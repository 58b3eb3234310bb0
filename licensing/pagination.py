"""Keyset (cursor) pagination for the portal's big lists: no OFFSET, ever, and no COUNT over a
whole organisation on every page.

How to use it (a list view)::

    from licensing.pagination import KeysetPaginator, SortKey

    CLIENT_SORTS = {
        "hostname": SortKey("hostname"),
        "renewal": SortKey("last_renewal_at", nullable=True),
        "deadline": SortKey("renewal_deadline", nullable=True),
    }
    paginator = KeysetPaginator(CLIENT_SORTS, default="hostname", salt="client_list")
    page = paginator.paginate(request, filterset.qs)   # a KeysetPage
    # template: {% include "licensing/partials/_pager.html" with page=page %}

The request carries `?sort=<name>` or `?sort=-<name>` (descending, from the whitelist only),
`?per_page=` (25/50/100/200; another number is clamped to the nearest with
`page.per_page_error` saying so) and `?cursor=` (opaque, signed with django.core.signing).

The order of a list is (sort column, id). A page after a cursor `(v, i)` is
`WHERE (col, id) > (v, i) ORDER BY col, id LIMIT n+1` (a row-value comparison that PostgreSQL
turns into an index range on an `(organisation, col, id)` btree), so page 10,000 costs what page
1 costs. Nullable sort columns are read in two *segments* (non-NULL rows, then NULL rows ordered
by id), so NULLs always come last in either direction without COALESCE, each segment still an
index range, and rows sharing a sort value (or all being NULL) are never skipped or repeated.

A cursor that does not verify (tampered, another list's, another sort) is never a 500: the
paginator shows the first page and sets `page.cursor_error` for the template to explain.

A filtered list (`paginate(..., filtered=True)`) gives PostgreSQL's index walk a budget
(`settings.LIST_WALK_BUDGET_MS`): `WHERE <filter> ORDER BY col, id LIMIT n` walks the sort
column's index and tests each row, on the planner's assumption that matching rows are spread
evenly through it. When they are not (the clients past their renewal deadline are the ones that
renewed longest ago: sorted by latest renewal first, a 600,000-client organisation walks 558,000
rows before the first match), the page would take a second. PostgreSQL cancels a walk past the
budget, and the page reads the same rows filter-first instead: ordered by `COALESCE(col)`, an
equal value no index matches, PostgreSQL finds the matching rows through the filter's own index
and sorts only those (tens of milliseconds for tens of thousands of rows).

Counts: `page.count_display` is an exact count up to COUNT_CAP rows and "10,000+" beyond
(`SELECT count(*) FROM (... LIMIT 10001)`, a few ms at any size); `estimated_rows(Model)` reads
`pg_class.reltuples` for a cheap whole-table estimate.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core import signing
from django.db import OperationalError, connection, connections, transaction
from django.db.models import BooleanField, Expression, F, Func, Model, QuerySet, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from psycopg.errors import QueryCanceled

log = logging.getLogger(__name__)

COUNT_CAP = 10_000
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
CURSOR_MAX_AGE = 60 * 60 * 24 * 90  # shared links keep working for a quarter


class InvalidCursor(ValueError):
    """The cursor does not verify or does not belong to this list and sort."""


class RowCompare(Expression):
    """`(a, b) > (%s, %s)`: a SQL row-value comparison usable in `.filter()`.

    Written here because the OR-expanded form `a > x OR (a = x AND b > y)` plans worse and
    Django's tuple lookups are private API."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, op: str, lhs: Sequence[Any], rhs: Sequence[Any]) -> None:
        if op not in ("<", ">") or len(lhs) != len(rhs) or not lhs:
            raise ValueError("RowCompare needs '<' or '>' and two rows of the same length")
        super().__init__(output_field=BooleanField())
        self.op = op
        self.lhs = list(lhs)
        self.rhs = list(rhs)

    def get_source_expressions(self) -> list[Any]:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        n = len(exprs) // 2
        self.lhs, self.rhs = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for expr in self.get_source_expressions():
            sql, p = compiler.compile(expr)
            parts.append(sql)
            params.extend(p)
        n = len(self.lhs)
        return f"({', '.join(parts[:n])}) {self.op} ({', '.join(parts[n:])})", params


@dataclass(frozen=True)
class SortKey:
    """One whitelisted sort: the model field path it orders by.

    `nullable`: the column may be NULL (NULL rows come last in both directions).
    `label`: the key's entry in the sort menu (`{% sort_menu page %}`, for the phone widths
    that hide sortable columns); a key without a label has no entry."""

    path: str
    nullable: bool = False
    label: str = ""


@dataclass(frozen=True)
class _Position:
    segment: int  # 0 = non-NULL rows, 1 = NULL rows (nullable keys only)
    value: Any
    pk: Any


@dataclass(frozen=True)
class SortChoice:
    """One entry of a list's sort menu (`{% sort_menu page %}`): a whitelisted sort with a
    label, its two directions' URLs, and which of them is in force ("asc", "desc" or "")."""

    label: str
    ascending_url: str
    descending_url: str
    active: str


@dataclass
class KeysetPage:
    rows: list[Any]
    sort: str  # "hostname" or "-hostname"
    sort_name: str
    descending: bool
    per_page: int
    has_next: bool
    has_previous: bool
    next_url: str | None
    previous_url: str | None
    first_url: str
    count: int | None = None  # exact when <= COUNT_CAP, else None
    capped: bool = False
    cursor_error: str = ""
    per_page_error: str = ""
    is_first: bool = True
    sort_urls: dict[str, str] = field(default_factory=dict)
    sort_choices: list[SortChoice] = field(default_factory=list)
    query_without_cursor: str = ""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def count_display(self) -> str:
        if self.capped:
            return f"{intcomma(COUNT_CAP)}+"
        return intcomma(self.count) if self.count is not None else ""


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most cap+1 rows, so it costs the same at 10k and 10M rows."""
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return (min(n, cap), n > cap)


def estimated_rows(model: type[Model]) -> int:
    """Planner's estimate of a whole table's rows (pg_class.reltuples, kept by ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def _final_field(model: type[Model], path: str) -> Any:
    parts = path.split(LOOKUP_SEP)
    for name in parts[:-1]:
        model = model._meta.get_field(name).related_model  # type: ignore[assignment]
    return model._meta.get_field(parts[-1])


def _encode(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


class KeysetPaginator:
    """Paginates a queryset by a whitelisted sort key plus the primary key. See module doc."""

    def __init__(
        self,
        sorts: Mapping[str, SortKey],
        *,
        default: str,
        salt: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        count: bool = True,
    ) -> None:
        if default.lstrip("-") not in sorts:
            raise ValueError(f"default sort {default!r} is not in the whitelist")
        self.sorts = dict(sorts)
        self.default = default
        self.salt = f"licensing.keyset:{salt}"
        self.page_size = page_size
        self.count = count

    # --- request parsing -------------------------------------------------------------------

    def parse_sort(self, raw: str | None) -> tuple[str, bool]:
        raw = (raw or "").strip()
        name = raw.lstrip("-")
        if name not in self.sorts:
            raw = self.default
            name = raw.lstrip("-")
        return name, raw.startswith("-")

    def parse_per_page(self, raw: str | None) -> int:
        return self.clamp_per_page(raw)[0]

    def clamp_per_page(self, raw: str | None) -> tuple[int, str]:
        """(page size, message): empty means the default; a size that is not offered is
        clamped to the nearest one that is (a number) or the default (anything else), with a
        message saying so, never an error page."""
        raw = (raw or "").strip()
        if not raw:
            return self.page_size, ""
        offered = ", ".join(str(n) for n in PAGE_SIZES)
        try:
            value = int(raw)
        except ValueError:
            return self.page_size, (
                _("Rows per page must be one of %(offered)s: showing %(size)s.")
                % {"offered": offered, "size": self.page_size}
            )
        if value in PAGE_SIZES:
            return value, ""
        nearest = min(PAGE_SIZES, key=lambda n: (abs(n - value), n))
        return nearest, (
            _("%(value)s rows per page is not offered (%(offered)s): showing %(nearest)s.")
            % {"value": intcomma(value), "offered": offered, "nearest": nearest}
        )

    def make_cursor(self, sort: str, direction: str, pos: _Position) -> str:
        payload = [sort, direction, pos.segment, _encode(pos.value), _encode(pos.pk)]
        return signing.dumps(payload, salt=self.salt, compress=True)

    def read_cursor(self, raw: str, sort: str, model: type[Model]) -> tuple[str, _Position]:
        try:
            payload = signing.loads(raw, salt=self.salt, max_age=CURSOR_MAX_AGE)
            c_sort, direction, segment, value, pk = payload
        except (signing.BadSignature, ValueError, TypeError) as exc:
            raise InvalidCursor(
                _("This page link is not valid (it was changed or has expired).")
            ) from exc
        if c_sort != sort or direction not in ("n", "p") or segment not in (0, 1):
            raise InvalidCursor(_("This page link belongs to another sort order."))
        key = self.sorts[sort.lstrip("-")]
        try:
            value = None if value is None else _final_field(model, key.path).to_python(value)
            pk = model._meta.pk.to_python(pk)
        except Exception as exc:  # a validly signed but unusable value: still a user error
            raise InvalidCursor(_("This page link is not valid.")) from exc
        if segment == 1 and not key.nullable:
            raise InvalidCursor(_("This page link is not valid."))
        return direction, _Position(segment, value, pk)

    # --- queries ---------------------------------------------------------------------------

    def _segments(self, key: SortKey) -> list[int]:
        return [0, 1] if key.nullable else [0]

    def _segment_qs(
        self,
        queryset: QuerySet,
        key: SortKey,
        segment: int,
        descending: bool,
        after: _Position | None,
    ) -> QuerySet:
        """Rows of one segment, in reading order (reversed when `descending`), strictly after
        `after` in that order."""
        col, pk = F(key.path), F("pk")
        if key.nullable:
            queryset = queryset.filter(**{f"{key.path}__isnull": segment == 1})
        op = "<" if descending else ">"
        if segment == 0:
            order = [col.desc(), pk.desc()] if descending else [col.asc(), pk.asc()]
            if after is not None:
                field_ = _final_field(queryset.model, key.path)
                queryset = queryset.filter(
                    RowCompare(
                        op, [col, pk], [Value(after.value, output_field=field_), Value(after.pk)]
                    )
                )
        else:
            order = [pk.desc()] if descending else [pk.asc()]
            if after is not None:
                queryset = queryset.filter(**{"pk__lt" if descending else "pk__gt": after.pk})
        return queryset.order_by(*order)

    def _read(
        self,
        queryset: QuerySet,
        key: SortKey,
        descending: bool,
        start: _Position | None,
        limit: int,
        filtered: bool = False,
    ) -> list[Any]:
        """Up to `limit` rows in reading order strictly after `start` (from the top if None)."""
        rows: list[Any] = []
        segments = self._segments(key)
        first = start.segment if start is not None else 0
        for seg in segments[segments.index(first) :]:
            after = start if (start is not None and seg == start.segment) else None
            walk = self._segment_qs(queryset, key, seg, descending, after)
            rows.extend(_fetch(walk, limit - len(rows), filtered))
            if len(rows) >= limit:
                break
        return rows

    def _position(self, row: Any, key: SortKey) -> _Position:
        if isinstance(row, dict):  # a .values() queryset must include the path and "pk"
            value, pk = row[key.path], row["pk"]
        else:
            value, pk = row, row.pk
            for part in key.path.split(LOOKUP_SEP):
                value = getattr(value, part, None) if value is not None else None
            if isinstance(value, Model):
                value = value.pk
        segment = 1 if (key.nullable and value is None) else 0
        return _Position(segment, value, pk)

    def paginate(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        columns: tuple[str, ...] = (),
        filtered: bool = False,
    ) -> KeysetPage:
        """One page of `queryset`; with `columns` its rows are dicts of those columns (which must
        include "pk" and the sort keys' paths), while the count reads the queryset as given: no
        join a column brings in reaches the count. `filtered`: the user's filter narrows the
        rows, so the index walk gets a budget (module doc)."""
        params = request.GET
        name, descending = self.parse_sort(params.get("sort"))
        key = self.sorts[name]
        sort = f"-{name}" if descending else name
        per_page, per_page_error = self.clamp_per_page(params.get("per_page"))

        cursor_error = ""
        direction, pos = "n", None
        if params.get("cursor"):
            try:
                direction, pos = self.read_cursor(params["cursor"], sort, queryset.model)
            except InvalidCursor as exc:
                cursor_error = _("%(problem)s Showing the first page.") % {"problem": exc}

        if direction == "n":
            rows = self._read(
                _shown(queryset, columns), key, descending, pos, per_page + 1, filtered
            )
            has_next = len(rows) > per_page
            rows = rows[:per_page]
            has_previous = pos is not None
        else:
            # Read backwards from the first row of the page the user came from, then flip.
            assert pos is not None
            back = self._read_backwards(
                _shown(queryset, columns), key, descending, pos, per_page + 1, filtered
            )
            has_previous = len(back) > per_page
            rows = list(reversed(back[:per_page]))
            has_next = True

        base = params.copy()
        for k in ("cursor", "page"):
            base.pop(k, None)
        # Short URLs: an empty parameter (or a yes/no select's "unknown") is the same as an
        # absent one, and links drop it.
        for k in [k for k, vs in base.lists() if all(v.strip() in ("", "unknown") for v in vs)]:
            base.pop(k)
        if per_page_error:
            base.pop("per_page", None)
            if per_page != self.page_size:
                base["per_page"] = str(per_page)
        if not rows:  # an empty list, or every row after a stale cursor is gone
            has_next = has_previous = False
        next_url = previous_url = None
        if has_next and rows:
            next_url = _url(base, cursor=self.make_cursor(sort, "n", self._position(rows[-1], key)))
        if has_previous and rows:
            previous_url = _url(
                base, cursor=self.make_cursor(sort, "p", self._position(rows[0], key))
            )
        page = KeysetPage(
            rows=rows,
            sort=sort,
            sort_name=name,
            descending=descending,
            per_page=per_page,
            has_next=has_next,
            has_previous=has_previous,
            next_url=next_url,
            previous_url=previous_url,
            first_url=_url(base),
            cursor_error=cursor_error,
            per_page_error=per_page_error,
            is_first=pos is None,
            query_without_cursor=base.urlencode(),
        )
        for other, other_key in self.sorts.items():
            ascending_url = _url(base, sort=other)
            descending_url = _url(base, sort=f"-{other}")
            # A column header reverses the sort in force, and sorts any other column ascending.
            active = other == name
            page.sort_urls[other] = descending_url if active and not descending else ascending_url
            if other_key.label:
                page.sort_choices.append(
                    SortChoice(
                        label=str(other_key.label),
                        ascending_url=ascending_url,
                        descending_url=descending_url,
                        active=("desc" if descending else "asc") if active else "",
                    )
                )
        if self.count:
            page.count, page.capped = capped_count(queryset)
        return page

    def _read_backwards(
        self,
        queryset: QuerySet,
        key: SortKey,
        descending: bool,
        pos: _Position,
        limit: int,
        filtered: bool = False,
    ) -> list[Any]:
        """Rows before `pos` in reading order, nearest first (reading the order in reverse).
        Reverse order of segments: NULL rows (by id, reversed), then non-NULL rows reversed."""
        rows: list[Any] = []
        segments = self._segments(key)
        for seg in reversed(segments[: segments.index(pos.segment) + 1]):
            after = pos if seg == pos.segment else None
            walk = self._segment_qs(queryset, key, seg, not descending, after)
            rows.extend(_fetch(walk, limit - len(rows), filtered))
            if len(rows) >= limit:
                break
        return rows


def _fetch(walk: QuerySet, limit: int, filtered: bool) -> list[Any]:
    """The first `limit` rows of a segment's query; a filtered list's index walk within its
    budget, past it the same rows filter-first (module doc)."""
    budget = settings.LIST_WALK_BUDGET_MS
    if not filtered or not budget:
        return list(walk[:limit])
    try:
        # A read-only transaction (a savepoint inside one) rolled back at the end: that also
        # ends the statement_timeout it set.
        with transaction.atomic(using=walk.db):
            with connections[walk.db].cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{budget}ms"])
            rows = list(walk[:limit])
            transaction.set_rollback(True, using=walk.db)
            return rows
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):
            raise
    log.info("list walk over %s ms: reading %s filter-first", budget, walk.model.__name__)
    return list(_filter_first(walk)[:limit])


def _filter_first(walk: QuerySet) -> QuerySet:
    """The same rows in the same order, ordered by COALESCE of each sort column: equal values,
    but PostgreSQL matches no index order to them, so it finds the rows by their filter."""
    return walk.order_by(
        *(OrderBy(_unindexed(o.expression), descending=o.descending) for o in walk.query.order_by)
    )


def _unindexed(expression: Any) -> Func:
    """COALESCE(x): equal to x, but PostgreSQL matches no index order to it."""
    return Func(expression, function="COALESCE")


def _shown(queryset: QuerySet, columns: tuple[str, ...]) -> QuerySet:
    return queryset.values(*columns) if columns else queryset


def _url(base: QueryDict, **overrides: str) -> str:
    query = base.copy()
    for k, v in overrides.items():
        query[k] = v
    if "sort" in overrides:
        query.pop("cursor", None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
