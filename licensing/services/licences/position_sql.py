"""The SQL of the licence position view (`licensing_licence_position`, migration 1100).

Per organisation and edition, set-based in one statement:

1. installs: active clients per (organisation, edition), one GROUP BY over licensing_client
   (retired clients do not count: the one line marked RETIRED below);
   licences: entitlements per (organisation, edition), split by downgrade rights.
2. Within a product line (Edition.product, or the application's name for single applications),
   versions newest first. Licences without downgrade rights cover installs of their own
   edition only, and go first. The downgradable licences form a pool carried down the line:
   at each version the pool gains that version's licences and covers as many of its remaining
   installs as it can; what is left is carried to the next older version. This greedy covers
   the most installs possible (a licence of a newer version can cover every older version, so
   keeping licences for later never helps). The pool after each version is a Lindley
   recursion, P = max(0, P_prev + licences - installs), written with window sums:
   P = S - least(0, min(S over the rows so far)), S = running sum of (licences - installs).
3. Surplus is reported on the edition the unused licences were bought for: at each version the
   installs take the licences of their own version first, then the nearest newer version's, so
   the licences left over are the newest ones. T = min(P over this row and every older row) is
   how many licences of this version and newer ones are never used; surplus = T - T_prev.
"""

from django.db.models import Q

# Which clients are installs: retired clients do not count. Migration 1902 replaced the view
# with view_sql(RETIRED_CONDITION); migration 1100 keeps calling view_sql("") because at that
# point of the history there is no retired_at column.
RETIRED_CONDITION = "AND c.retired_at IS NULL"
ACTIVE_CLIENT = Q(retired_at__isnull=True)


def view_sql(retired_condition: str) -> str:
    """The CREATE OR REPLACE VIEW statement; `retired_condition` filters licensing_client `c`."""
    return _VIEW_SQL.replace("{RETIRED_CONDITION}", retired_condition)


_VIEW_SQL = """
CREATE OR REPLACE VIEW licensing_licence_position AS
SELECT (s4.organisation_id::bigint * 1000000000 + s4.edition_id) AS id,
       s4.organisation_id, s4.edition_id, s4.line, s4.version,
       s4.installed, s4.licences,
       (s4.exact_covered + s4.down_covered) AS covered,
       (s4.down_covered - LEAST(s4.down, s4.rest)) AS covered_by_newer,
       (s4.exact - s4.exact_covered)
         + (s4.unused_from_here - COALESCE(LAG(s4.unused_from_here) OVER w, 0)) AS surplus,
       (s4.installed - s4.exact_covered - s4.down_covered) AS shortfall
FROM (
    SELECT s3.*,
           (COALESCE(LAG(s3.pool) OVER w, 0) + s3.down - s3.pool) AS down_covered,
           MIN(s3.pool) OVER (w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
             AS unused_from_here
    FROM (
        SELECT s2.*, s2.running - LEAST(0, MIN(s2.running) OVER (w ROWS UNBOUNDED PRECEDING))
                 AS pool
        FROM (
            SELECT s1.*,
                   SUM(s1.down - s1.rest) OVER (w ROWS UNBOUNDED PRECEDING) AS running
            FROM (
                SELECT u.organisation_id, u.edition_id,
                       CASE WHEN ed.product = 'app' THEN 'app:' || lower(ed.application)
                            ELSE ed.product END AS line,
                       ed.version,
                       SUM(u.installed)::bigint AS installed,
                       SUM(u.down + u.exact)::bigint AS licences,
                       SUM(u.down)::bigint AS down,
                       SUM(u.exact)::bigint AS exact,
                       LEAST(SUM(u.installed), SUM(u.exact))::bigint AS exact_covered,
                       (SUM(u.installed) - LEAST(SUM(u.installed), SUM(u.exact)))::bigint AS rest
                FROM (
                    SELECT c.organisation_id, c.edition_id, count(*) AS installed,
                           0::bigint AS down, 0::bigint AS exact
                    FROM licensing_client c
                    WHERE c.edition_id IS NOT NULL {RETIRED_CONDITION}
                    GROUP BY c.organisation_id, c.edition_id
                    UNION ALL
                    SELECT e.organisation_id, e.edition_id, 0,
                           COALESCE(SUM(e.quantity) FILTER (WHERE e.downgrade_rights), 0),
                           COALESCE(SUM(e.quantity) FILTER (WHERE NOT e.downgrade_rights), 0)
                    FROM licensing_entitlement e
                    GROUP BY e.organisation_id, e.edition_id
                ) AS u
                JOIN licensing_edition ed ON ed.id = u.edition_id
                GROUP BY u.organisation_id, u.edition_id, ed.product, ed.application, ed.version
            ) AS s1
            WINDOW w AS (PARTITION BY s1.organisation_id, s1.line
                         ORDER BY s1.version DESC, s1.edition_id)
        ) AS s2
        WINDOW w AS (PARTITION BY s2.organisation_id, s2.line
                     ORDER BY s2.version DESC, s2.edition_id)
    ) AS s3
    WINDOW w AS (PARTITION BY s3.organisation_id, s3.line ORDER BY s3.version DESC, s3.edition_id)
) AS s4
WINDOW w AS (PARTITION BY s4.organisation_id, s4.line ORDER BY s4.version DESC, s4.edition_id)
"""

DROP_VIEW_SQL = "DROP VIEW IF EXISTS licensing_licence_position"
