"""The Strawberry schema: the one object exported is ``schema``."""

from schema.build import build_schema, schema

__all__ = ["build_schema", "schema"]
