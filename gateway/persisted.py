"""Persisted queries: Apollo's automatic persisted queries, and an optional allow-list.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}``:

* with no ``query``: the gateway answers from the query text it holds under that hash, or with
  ``PersistedQueryNotFound`` (code ``PERSISTED_QUERY_NOT_FOUND``), and the client sends it again
  with the text, which registers it;
* with the ``query``: the text must hash to ``sha256Hash`` (SHA-256 of its UTF-8 bytes).

Operations registered ahead (``GATEWAY_PERSISTED_QUERIES_DIR``: one operation per ``.graphql``
file, hashed as the file's exact text) are known to every client. With
``GATEWAY_PERSISTED_QUERIES_ONLY`` the gateway runs those and nothing else, whether a client sends
the hash or the text (``PERSISTED_QUERY_NOT_IN_LIST``).

Automatic registrations live in each worker's memory, bounded in total size, and are kept per
tenant: one tenant cannot learn by probing hashes which queries another has run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from sessions_gateway.schema.lru import Lru

if TYPE_CHECKING:
    from pathlib import Path

    from strawberry.http import GraphQLRequestData

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Texts of automatically registered queries a worker keeps, in characters, across all tenants.
DEFAULT_CACHE_CHARACTERS = 8_000_000


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run; ``code`` goes to ``extensions.code``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_registered(folder: Path) -> dict[str, str]:
    """Each ``*.graphql`` file of ``folder`` (recursively) by the SHA-256 of its text."""
    return {
        sha256_hex(text): text for text in (p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.graphql")))
    }


class PersistedQueries:
    def __init__(
        self,
        registered: dict[str, str] | None = None,
        *,
        only_registered: bool = False,
        cache_characters: int = DEFAULT_CACHE_CHARACTERS,
    ) -> None:
        self.registered = dict(registered or {})
        self.only_registered = only_registered
        self.cache_characters = cache_characters
        # Texts sent with their hash, by (tenant, hash): at most cache_characters of them.
        self._cache: Lru[tuple[str, str], str] = Lru(cache_characters, weight=len)

    def resolve(self, data: GraphQLRequestData, tenant_id: str) -> GraphQLRequestData:
        """``data`` with its query text, or a ``PersistedQueryError``."""
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.only_registered and (data.query is None or sha256_hex(data.query) not in self.registered):
                raise PersistedQueryError(
                    "This gateway runs registered operations only: send one of them, or its hash.",
                    "PERSISTED_QUERY_NOT_IN_LIST",
                )
            return data
        digest = _digest(persisted)
        if data.query is not None:
            if sha256_hex(data.query) != digest:
                raise PersistedQueryError(
                    "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.", "BAD_USER_INPUT"
                )
            if digest not in self.registered:
                if self.only_registered:
                    raise PersistedQueryError(
                        "This gateway runs registered operations only: this one is not.", "PERSISTED_QUERY_NOT_IN_LIST"
                    )
                self._cache.put((tenant_id, digest), data.query)
            return data
        query = self.registered.get(digest)
        if query is None and not self.only_registered:
            query = self._cache.get((tenant_id, digest))
        if query is None:
            code = "PERSISTED_QUERY_NOT_IN_LIST" if self.only_registered else "PERSISTED_QUERY_NOT_FOUND"
            raise PersistedQueryError("PersistedQueryNotFound", code)
        return replace(data, query=query)


def _digest(persisted: object) -> str:
    if not isinstance(persisted, dict):
        raise PersistedQueryError("extensions.persistedQuery must be an object.", "BAD_USER_INPUT")
    if persisted.get("version") != 1:
        raise PersistedQueryError("extensions.persistedQuery.version must be 1.", "BAD_USER_INPUT")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise PersistedQueryError(
            "extensions.persistedQuery.sha256Hash must be 64 lower-case hexadecimal digits.", "BAD_USER_INPUT"
        )
    return digest
