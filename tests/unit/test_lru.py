"""The bounded LRU behind the validation results, the compiled plans and the persisted query texts."""

from __future__ import annotations

from sessions_gateway.schema.lru import Lru


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now more recent than b
    cache.put("c", 3)
    assert "b" not in cache
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_a_weighted_cache_holds_a_total_weight() -> None:
    cache: Lru[str, str] = Lru(10, weight=len)
    for key in ("a", "b", "c"):
        cache.put(key, key * 4 if key != "c" else "cc")
    assert len(cache) == 3  # 4 + 4 + 2 characters
    cache.put("d", "ddd")  # 13 > 10: the oldest goes, and only it
    assert ("a" in cache, "b" in cache, "c" in cache, "d" in cache) == (False, True, True, True)
    cache.put("e", "e" * 11)  # heavier than the whole cache: not kept, nothing dropped
    assert "e" not in cache
    assert len(cache) == 3
    cache.put("f", "f" * 8)  # 17: as many of the oldest go as it takes
    assert ("b" in cache, "c" in cache, "d" in cache, cache.get("f")) == (False, False, False, "f" * 8)


def test_putting_a_kept_key_changes_nothing() -> None:
    cache: Lru[str, str] = Lru(2)
    cache.put("a", "first")
    cache.put("b", "b")
    cache.put("a", "second")  # neither replaced nor made recent
    cache.put("c", "c")
    assert ("a" in cache, cache.get("b"), cache.get("c")) == (False, "b", "c")


def test_an_empty_value_is_a_hit() -> None:
    """A document without validation errors caches ``[]``: it is found, and made recent."""
    cache: Lru[str, list[str]] = Lru(2)
    cache.put("valid", [])
    cache.put("other", ["error"])
    assert cache.get("valid") == []
    cache.put("third", [])
    assert ("valid" in cache, "other" in cache) == (True, False)


def test_a_cache_of_no_room_keeps_nothing() -> None:
    cache: Lru[str, int] = Lru(0)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0
