"""The corpus of ``tests/engines/test_compiled_plans.py``: requests both execution paths must answer alike.

Every part of the schema, every way of selecting it, and the request errors; each case names the path
the log must show. Paging cases name a cursor by its listing and index (``Cursor``); the test resolves
it against the cursors the gateway issues for that listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMPILED = ("compiled", None)
DISABLED = ("executor", "disabled")

Path_ = tuple[str, str | None]  # (execution_path, fallback_reason) of one logged operation


# Cursors issued by the gateway, for paging cases

CURSOR_PAGE = """
query ($filter: SessionFilter, $orderBy: SessionOrder!) {
  sessions(filter: $filter, orderBy: $orderBy, first: 100) { edges { cursor } }
}
"""


@dataclass(frozen=True)
class Listing:
    """An order and a filter; ``cursors`` holds every cursor the gateway issues for them, in order."""

    order: str
    filter: dict[str, Any] | None


class Name(str):
    """An enum value: bare in a GraphQL literal, a string in JSON variables."""

    __slots__ = ()


LISTINGS = {
    "default": Listing("STARTED_AT_DESC", None),
    "ascending": Listing("STARTED_AT_ASC", None),
    "completed": Listing("COMPLETED_AT_DESC", None),
    "duration": Listing("DURATION_DESC", None),
    "trainees": Listing("STARTED_AT_DESC", {"role": Name("TRAINEE")}),
    "drills": Listing("DURATION_DESC", {"search": "drill", "status": Name("COMPLETED")}),
}


class Issued(dict[str, list[str]]):
    """Every cursor of each listing, by listing name (a short repr, for failure reports)."""

    def __repr__(self) -> str:
        return f"Issued({', '.join(self)})"


@dataclass(frozen=True)
class Cursor:
    """A variable's value: the ``index``-th cursor of a listing, altered in one place if ``tampered``."""

    listing: str
    index: int
    tampered: bool = False

    def resolve(self, issued: Issued) -> str:
        cursor = issued[self.listing][self.index]
        if not self.tampered:
            return cursor
        middle = len(cursor) // 2
        return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


def resolved(value: Any, issued: Issued) -> Any:
    if isinstance(value, Cursor):
        return value.resolve(issued)
    if isinstance(value, dict):
        return {key: resolved(item, issued) for key, item in value.items()}
    return value


# Every part of the schema, every way of selecting it, and the request errors

EVERY_SESSION_FIELD = """
  id name status role thumbnailUrl durationSeconds startedAt completedAt seatId procedureCount
  user { id displayName }
  procedures { id position name description videoUrl }
  recording { status url expiresAt }
  summary { score prose trainerNotes }
  linkedTask { id title source externalRef status url }
"""
EVERY_CONNECTION_FIELD = f"""
  totalCount
  pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  edges {{ cursor node {{ {EVERY_SESSION_FIELD} }} }}
"""
EVERY_REPORT_FIELD = """
  totalCount
  byStatus { status count }
  byRole { role count }
  averageScore totalDurationSeconds procedureCount
  timeline(bucket: DAY, timeZone: "Europe/Paris") { start count completed averageScore }
  byUser { user { id displayName } count completed averageScore }
  byTaskSource { source count completed averageScore }
  scoreDeciles { from to count }
"""
PAGE = f"""
query Page($filter: SessionFilter, $orderBy: SessionOrder! = STARTED_AT_DESC, $first: Int, $after: String,
           $last: Int, $before: String) {{
  sessions(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {{
    {EVERY_CONNECTION_FIELD}
  }}
}}
"""
BRIEF_PAGE = """
query Page($filter: SessionFilter, $orderBy: SessionOrder! = STARTED_AT_DESC, $first: Int = 100) {
  sessions(filter: $filter, orderBy: $orderBy, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name durationSeconds completedAt linkedTask { source } } }
  }
}
"""
DETAIL = f"""
query Detail($id: ID!) {{
  session(id: $id) {{ {EVERY_SESSION_FIELD} }}
}}
"""
REPORT = f"""
query Report($filter: SessionFilter) {{
  sessionsReport(filter: $filter) {{ {EVERY_REPORT_FIELD} }}
}}
"""
HAND_MADE_IDS = [f"a-{i:02d}" for i in range(1, 11)]
ORDERS = ["STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC"]

EITHER = "either"  # the log names one path: compiled, or the executor after an error
NOTHING = "nothing"  # the operation never runs (the document does not validate): nothing is logged
ANY = "any"  # the log names one path, whichever it is


@dataclass(frozen=True)
class Case:
    id: str
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    expect: Path_ | str = COMPILED
    tenant: str = "alpha"


def page(**variables: Any) -> dict[str, Any]:
    return variables


CORPUS: list[Case] = [
    # --- the sessions list
    Case("list-every-field", PAGE, page(first=10)),
    Case("list-every-row-every-field", PAGE, page(first=100)),
    Case("list-default-arguments", f"{{ sessions {{ {EVERY_CONNECTION_FIELD} }} }}"),
    Case("list-of-beta", PAGE, page(first=100), tenant="beta"),
    *(Case(f"order-{order}", BRIEF_PAGE, page(orderBy=order)) for order in ORDERS),
    Case(
        "aliases-with-other-arguments",
        """
        {
          newest: sessions(first: 3) { edges { node { id n: name again: name } } }
          oldest: sessions(first: 3, orderBy: STARTED_AT_ASC) { total: totalCount edges { node { id name } } }
          failed: sessions(filter: {status: FAILED}, first: 2) { totalCount edges { c: cursor node { id } } }
          sessions(last: 2) { edges { node { id who: user { name: displayName } } } }
          a01: session(id: "a-01") { key: id task: linkedTask { t: title } linkedTask { source } }
          a02: session(id: "a-02") { key: id title: name }
          all: sessionsReport { n: totalCount }
          trainers: sessionsReport(filter: {role: TRAINER}) { n: totalCount }
        }
        """,
    ),
    Case(
        "typename-at-every-level",
        """
        {
          __typename
          sessions(first: 3) {
            __typename totalCount
            pageInfo { __typename hasNextPage }
            edges {
              __typename cursor
              node {
                __typename id
                user { __typename id }
                procedures { __typename id }
                recording { __typename status }
                summary { __typename score }
                linkedTask { __typename id }
              }
            }
          }
          session(id: "a-01") { __typename id kind: __typename summary { __typename } }
          sessionsReport { __typename byStatus { __typename status } byRole { __typename role } }
        }
        """,
    ),
    Case(
        "named-fragments",
        """
        query Named {
          sessions(first: 5) { ...Connection }
          session(id: "a-02") { ...Row ...Relations }
          sessionsReport { ...Totals }
        }
        fragment Connection on SessionConnection { totalCount edges { node { ...Row } } }
        fragment Row on Session { id name status durationSeconds }
        fragment Relations on Session { user { displayName } recording { status url expiresAt } }
        fragment Totals on SessionsReport { totalCount byRole { role count } }
        """,
    ),
    Case(
        "inline-fragments",
        """
        {
          ... on Query { sessions(first: 4) { ... on SessionConnection { totalCount } edges { node { id } } } }
          ... { session(id: "a-07") { ... { name status } ... on Session { recording { status url } } } }
          sessionsReport { ... on SessionsReport { averageScore } ... { procedureCount } }
        }
        """,
    ),
    Case(
        "nested-fragments-merging-one-field",
        """
        query Nested { ...Root }
        fragment Root on Query {
          sessions(first: 6) { edges { node { ...Outer id } } }
          ... on Query { session(id: "a-01") { ...Outer } }
        }
        fragment Outer on Session { name ...Inner ... on Session { user { id } } }
        fragment Inner on Session { user { displayName } procedures { position ...Step } summary { score } }
        fragment Step on Procedure { name videoUrl }
        """,
    ),
    Case(
        "skip-and-include-literals",
        """
        {
          sessions(first: 4) {
            totalCount @skip(if: true)
            pageInfo @include(if: true) { hasNextPage endCursor @skip(if: false) }
            edges {
              node {
                id
                name @include(if: false)
                user @skip(if: true) { id }
                ... on Session @include(if: true) { status }
                ... @skip(if: true) { role }
              }
            }
          }
          session(id: "a-01") @skip(if: true) { id }
          sessionsReport @include(if: true) { totalCount averageScore @include(if: false) }
        }
        """,
    ),
    *(
        Case(
            f"skip-and-include-variables-{flag}",
            """
            query Directives($flag: Boolean!, $other: Boolean = true) {
              sessions(first: 4) {
                totalCount @include(if: $flag)
                edges {
                  node {
                    id
                    name @skip(if: $flag)
                    ...Extra @include(if: $flag)
                    ... @skip(if: $other) { status }
                  }
                }
              }
              session(id: "a-01") @include(if: $flag) { id }
              sessionsReport { byStatus @skip(if: $flag) { status count } totalCount }
            }
            fragment Extra on Session { linkedTask { title } procedureCount }
            """,
            {"flag": flag},
        )
        for flag in (True, False)
    ),
    Case(
        "one-field-under-two-aliases-at-each-level",
        """
        {
          sessions(first: 4) {
            edges { node { id } other: node { name status user { id } } }
            rows: edges { c: cursor node { startedAt } }
            pageInfo { hasNextPage }
            more: pageInfo { endCursor }
          }
          sessionsReport { byStatus { status } counts: byStatus { count } byRole { role } roles: byRole { count } }
          session(id: "a-01") { user { id } who: user { displayName } procedures { id } steps: procedures { name } }
        }
        """,
    ),
    Case(
        "one-root-field-twice-merged",
        '{ sessions(first: 2) { totalCount } sessions(first: 2) { edges { cursor } } session(id: "a-02") { id } '
        'session(id: "a-02") { name } }',
    ),
    Case(
        "everything-skipped-below-a-field",
        '{ sessions(first: 2) { edges { node { id @skip(if: true) } } } session(id: "a-01") { id @skip(if: true) } }',
    ),
    # --- each filter field, inline and as a variable
    Case("filter-status", BRIEF_PAGE, page(filter={"status": "IN_PROGRESS"})),
    Case("filter-role", BRIEF_PAGE, page(filter={"role": "TRAINER"})),
    Case(
        "filter-started-after-and-before",
        BRIEF_PAGE,
        page(filter={"startedAfter": "2026-10-01T16:00:00+00:00", "startedBefore": "2026-11-20T09:30:00+00:00"}),
    ),
    Case(
        "filter-started-bounds-inline-with-offset-and-fraction",
        f"""{{ sessions(filter: {{startedAfter: "2026-11-19T16:05:30.25+02:00"}}, first: 100) {{
            {EVERY_CONNECTION_FIELD} }} }}""",
    ),
    Case("filter-user", BRIEF_PAGE, page(filter={"userId": "a-zoe"})),
    Case("filter-task-source", BRIEF_PAGE, page(filter={"taskSource": "JOBBER"})),
    Case("filter-search", BRIEF_PAGE, page(filter={"search": "boiler SERVICE"})),
    Case("filter-search-non-ascii", BRIEF_PAGE, page(filter={"search": "ПРОВЕРКА"})),
    Case("filter-search-plain-characters", BRIEF_PAGE, page(filter={"search": "% off_sale \\ t"})),
    Case("filter-search-automatic-name", BRIEF_PAGE, page(filter={"search": "session 2026-10-01"})),
    Case(
        "filter-every-field-inline",
        """{ sessions(filter: {status: COMPLETED, role: TRAINEE, startedAfter: "2026-10-01T00:00:00+00:00",
              startedBefore: "2026-10-02T00:00:00+00:00", userId: "a-ann", taskSource: "jobber", search: "DRILL",
              }, first: 100) { totalCount edges { node { id name } } } }""",
    ),
    Case(
        "variables-inside-the-filter",
        """
        query Inside($status: SessionStatus, $after: DateTime, $who: ID, $source: String, $search: String,
                     $first: Int) {
          sessions(filter: {status: $status, startedAfter: $after, userId: $who, taskSource: $source, search: $search},
                   first: $first) { totalCount edges { node { id name } } }
          sessionsReport(filter: {status: $status, search: $search}) { totalCount }
        }
        """,
        {"status": "COMPLETED", "after": "2026-10-01T15:00:00+00:00", "search": "drill", "first": 100},
    ),
    Case("filter-explicit-nulls", BRIEF_PAGE, page(filter={"status": None, "search": None, "userId": None})),
    Case("filter-matching-nothing", PAGE, page(filter={"userId": "b-ann"})),
    # --- paging with cursors the gateway issued
    Case("first-after", PAGE, page(first=5, after=Cursor("default", 4))),
    Case("last-before", PAGE, page(last=5, before=Cursor("default", 20))),
    Case("before-alone", PAGE, page(before=Cursor("default", 30))),
    Case("last-alone", PAGE, page(last=7)),
    Case("after-the-last-row", PAGE, page(first=5, after=Cursor("default", -1))),
    Case("ascending-after", PAGE, page(orderBy="STARTED_AT_ASC", first=3, after=Cursor("ascending", 9))),
    Case(
        "duration-with-filter-before",
        PAGE,
        page(
            orderBy="DURATION_DESC",
            filter={"search": "drill", "status": "COMPLETED"},
            last=2,
            before=Cursor("drills", 5),
        ),
    ),
    Case("first-zero", PAGE, page(first=0)),
    Case("last-zero-before", PAGE, page(last=0, before=Cursor("default", 3))),
    # --- one session
    *(Case(f"detail-{sid}", DETAIL, {"id": sid}) for sid in (*HAND_MADE_IDS, "a-g00", "a-g02", "a-g07")),
    Case("detail-erased", DETAIL, {"id": "a-g13"}),
    Case("detail-missing", DETAIL, {"id": "no-such-session"}),
    Case("detail-of-another-tenant", DETAIL, {"id": "b-01"}),
    Case("detail-as-beta", DETAIL, {"id": "b-01"}, tenant="beta"),
    Case(
        "detail-several-inline",
        "{ "
        + " ".join(f's{i}: session(id: "{sid}") {{ {EVERY_SESSION_FIELD} }}' for i, sid in enumerate(HAND_MADE_IDS))
        + " }",
    ),
    # --- the report
    Case("report-every-field", REPORT),
    Case("report-filtered", REPORT, {"filter": {"taskSource": "jobber", "startedAfter": "2026-11-01T00:00:00+00:00"}}),
    Case("report-in-progress-only", REPORT, {"filter": {"status": "IN_PROGRESS"}}),
    Case("report-matching-nothing", REPORT, {"filter": {"search": "no such name"}}),
    Case("report-of-beta", REPORT, tenant="beta"),
    Case("report-counts-only", "{ sessionsReport { byRole { count } byStatus { count } } }"),
    Case("report-average-only", "{ sessionsReport(filter: {role: TRAINEE}) { averageScore } }"),
    Case(
        "report-duration-and-procedures",
        "{ sessionsReport { procedureCount totalDurationSeconds totalDurationHours } }",
    ),
    Case("report-typename-only", "{ sessionsReport { __typename } }"),
    # --- the report's timeline, breakdowns and deciles (tenant delta: midnights where clocks change)
    Case("report-every-field-of-delta", REPORT, tenant="delta"),
    *(
        Case(
            f"report-timeline-{period}-{zone}",
            """query Timeline($period: TimelinePeriod!, $zone: String!) {
              sessionsReport { timeline(bucket: $period, timeZone: $zone) { start count completed averageScore } }
            }""",
            {"period": period, "zone": zone},
            tenant="delta",
        )
        for period in ("DAY", "WEEK", "MONTH")
        for zone in ("UTC", "Europe/Paris", "America/Santiago", "Atlantic/Azores", "Asia/Kathmandu")
    ),
    Case(
        "report-parts-aliased-with-typename",
        """
        {
          sessionsReport(filter: {startedAfter: "2026-10-01T00:00:00+00:00"}) {
            __typename
            days: timeline(bucket: DAY) { __typename start n: count }
            weeks: timeline(bucket: WEEK, timeZone: "Europe/Paris") { start completed }
            top: byUser(first: 1) { __typename who: user { __typename displayName } count }
            byUser { user { id } averageScore }
            sources: byTaskSource(first: 2) { __typename source s: averageScore }
            byTaskSource { source count }
            scoreDeciles { __typename from to }
            tenths: scoreDeciles { count }
          }
        }
        """,
        tenant="delta",
    ),
    Case(
        "report-parts-in-fragments-with-variables",
        """
        query Parts($filter: SessionFilter, $first: Int!, $zone: String! = "Asia/Kathmandu", $deciles: Boolean!) {
          sessionsReport(filter: $filter) { ...Timeline ... on SessionsReport { byUser(first: $first) { ...Entry } } }
          other: sessionsReport { ... { scoreDeciles @include(if: $deciles) { from to count } } totalCount }
        }
        fragment Timeline on SessionsReport { timeline(bucket: MONTH, timeZone: $zone) { start count } }
        fragment Entry on UserCount { user { displayName } completed }
        """,
        {"filter": {"status": "COMPLETED"}, "first": 2, "deciles": True},
    ),
    Case(
        "report-parts-filtered",
        REPORT,
        {"filter": {"taskSource": "jobber", "role": "TRAINEE", "startedBefore": "2026-10-01T15:00:00+00:00"}},
    ),
    Case("report-parts-of-none", "{ sessionsReport { byUser(first: 0) { count } byTaskSource(first: 0) { count } } }"),
    Case(
        "report-unknown-time-zone",
        '{ sessionsReport { totalCount timeline(bucket: DAY, timeZone: "Mars/Olympus") { count } } }',
        expect=EITHER,
    ),
    Case(
        "report-abbreviated-time-zone",
        '{ sessionsReport { timeline(bucket: WEEK, timeZone: "CET") { count } } }',
        expect=EITHER,
    ),
    Case("report-by-user-first-over-500", "{ sessionsReport { byUser(first: 501) { count } } }", expect=EITHER),
    Case(
        "report-by-task-source-first-negative", REPORT.replace("byTaskSource", "byTaskSource(first: -1)"), expect=EITHER
    ),
    Case(
        "report-two-parts-in-error",
        '{ sessionsReport { timeline(bucket: DAY, timeZone: "") { count } byUser(first: -1) { count } } }',
        expect=EITHER,
    ),
    # --- several root fields, several operations
    Case(
        "every-root-field",
        f"""query Everything($id: ID!) {{
          sessions(first: 5, orderBy: COMPLETED_AT_DESC) {{ {EVERY_CONNECTION_FIELD} }}
          session(id: $id) {{ {EVERY_SESSION_FIELD} }}
          sessionsReport {{ {EVERY_REPORT_FIELD} }}
        }}""",
        {"id": "a-04"},
    ),
    *(
        Case(
            f"operation-name-{name}",
            f"""
            query List {{ sessions(first: 3) {{ edges {{ node {{ id name }} }} }} }}
            query One($id: ID = "a-03") {{ session(id: $id) {{ {EVERY_SESSION_FIELD} }} }}
            query Totals {{ sessionsReport {{ totalCount }} }}
            """,
            operation_name=name,
        )
        for name in ("List", "One", "Totals")
    ),
    # --- errors
    Case(
        "several-operations-and-no-name",
        'query A { sessionsReport { totalCount } } query B { session(id: "a-01") { id } }',
        expect=NOTHING,  # refused before either path runs (tests/api/test_operations.py)
    ),
    Case("unknown-operation-name", "query A { __typename }", operation_name="B", expect=NOTHING),
    Case("first-over-100", PAGE, page(first=101), expect=EITHER),
    Case("last-negative", PAGE, page(last=-1), expect=EITHER),
    Case("first-and-last", PAGE, page(first=5, last=5), expect=EITHER),
    Case("tampered-cursor", PAGE, page(first=5, after=Cursor("default", 3, tampered=True)), expect=EITHER),
    Case("cursor-of-another-order", PAGE, page(first=5, after=Cursor("ascending", 3)), expect=EITHER),
    Case("cursor-of-another-tenant", PAGE, page(first=5, after=Cursor("default", 3)), tenant="beta", expect=EITHER),
    Case("garbage-cursor", PAGE, page(last=5, before="not-a-cursor"), expect=EITHER),
    Case("empty-id", DETAIL, {"id": ""}, expect=EITHER),
    Case("id-with-white-space", '{ session(id: "a 01") { id } }', expect=EITHER),
    Case("malformed-user-id", BRIEF_PAGE, page(filter={"userId": "a\tann"}), expect=EITHER),
    Case("search-too-long", BRIEF_PAGE, page(filter={"search": "x" * 201}), expect=EITHER),
    Case("report-search-too-long", REPORT, {"filter": {"search": "ж" * 201}}, expect=EITHER),
    Case(
        "error-next-to-an-answer",
        '{ ok: session(id: "a-01") { id name } bad: session(id: "") { id } report: sessionsReport { totalCount } }',
        expect=EITHER,
    ),
    Case(
        "error-in-a-non-null-root-field",
        '{ session(id: "a-01") { id } sessions(first: 101) { totalCount } }',
        expect=EITHER,
    ),
    Case("variable-of-the-wrong-type", PAGE, page(first="ten"), expect=("executor", "variables")),
    Case("variable-with-a-bad-enum", PAGE, page(orderBy="NEWEST"), expect=("executor", "variables")),
    Case(
        "variable-with-a-bad-date-time",
        REPORT,
        {"filter": {"startedAfter": "yesterday"}},
        expect=("executor", "variables"),
    ),
    Case("missing-required-variable", DETAIL, {}, expect=("executor", "variables")),
    Case("bad-date-time-literal", '{ sessionsReport(filter: {startedBefore: "soon"}) { totalCount } }', expect=NOTHING),
    Case("unknown-field", "{ sessions { edges { node { email } } } }", expect=NOTHING),
    Case("syntax-error", "{ sessions { edges { node { id } }", expect=NOTHING),
]
