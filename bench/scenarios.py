"""The GraphQL documents the benchmark sends, one per scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROW_FIELDS = """
        id name status role thumbnailUrl durationSeconds startedAt completedAt seatId procedureCount
        user { id displayName }
        linkedTask { id title source externalRef status url }"""

LIST_QUERY = f"""query List($first: Int!, $after: String, $filter: SessionFilter) {{
  sessions(first: $first, after: $after, filter: $filter) {{
    edges {{
      node {{{ROW_FIELDS}
      }}
    }}
  }}
}}"""

DETAIL_QUERY = f"""query Detail($id: ID!) {{
  session(id: $id) {{{ROW_FIELDS}
    procedures {{ id position name description videoUrl }}
    recording {{ status url expiresAt }}
    summary {{ score prose trainerNotes }}
  }}
}}"""

REPORT_QUERY = """query Report {
  sessionsReport {
    totalCount
    byStatus { status count }
    byRole { role count }
    averageScore totalDurationHours procedureCount
  }
}"""

# Walks the list to a deep cursor through the public API (no node fields: only the position).
WALK_QUERY = """query Walk($after: String) {
  sessions(first: 100, after: $after) { pageInfo { hasNextPage endCursor } }
}"""

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    operation: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Fewer connections for scenarios whose requests each take tens of milliseconds of database time.
    max_connections: int | None = None
    floor: bool = False  # the floor answers it too
    min_seconds: float = 0.0  # slow requests need a longer run to complete a few

    def body(self) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables, "operationName": self.operation}


def scenarios(
    *, detail_id: str, deep_cursor: str, deep_rows: int, filter_: dict[str, Any], report_connections: int
) -> list[Scenario]:
    return [
        Scenario(
            "LIST",
            f"sessions(first: {PAGE_SIZE}): every row field, procedureCount, user, linkedTask",
            "List",
            LIST_QUERY,
            {"first": PAGE_SIZE},
            floor=True,
        ),
        Scenario(
            "DETAIL",
            "session(id): every field, procedures, recording, summary, linkedTask, user",
            "Detail",
            DETAIL_QUERY,
            {"id": detail_id},
            floor=True,
        ),
        Scenario(
            "DEEP PAGE",
            f"LIST with after: the cursor {deep_rows:,} rows in",
            "List",
            LIST_QUERY,
            {"first": PAGE_SIZE, "after": deep_cursor},
        ),
        Scenario(
            "FILTERED",
            "LIST with filter status + role + startedAfter/startedBefore",
            "List",
            LIST_QUERY,
            {"first": PAGE_SIZE, "filter": filter_},
        ),
        Scenario(
            "REPORT",
            "sessionsReport over the whole tenant, every field",
            "Report",
            REPORT_QUERY,
            max_connections=report_connections,
            min_seconds=5.0,
        ),
    ]


GROWTH_SCENARIOS = ("LIST", "DEEP PAGE", "FILTERED")
