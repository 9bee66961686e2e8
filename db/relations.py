"""What a session's fields may read besides the session's own columns: one relation each.

A field's declaration (beside its GraphQL type) names the relations it reads; the compiled path
joins exactly those into its one statement, and the executor path loads them through the
request's loaders, one batch per relation. The value is the attribute of ``schema.writers.Related``
that holds the relation's rows for one request.
"""

from __future__ import annotations

from enum import Enum


class Relation(Enum):
    USER = "users"  # the session's user (by users.id = sessions.user_id)
    TASK = "tasks"  # the linked task (by tasks.id = sessions.task_id)
    PROCEDURE_COUNT = "counts"  # how many procedures the session has
    PROCEDURES = "procedures"  # the session's procedures, by position
    RECORDING = "recordings"  # the session's recording row, if any
    SUMMARY = "summaries"  # the session's summary row, if any
