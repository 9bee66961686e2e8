"""The one bounded least-recently-used cache the gateway keeps its shared state in.

Parsed-and-validated results, compiled plans and persisted query texts live in one each: a hit
makes its entry the most recent, and adding past ``capacity`` drops the least recent first.
``capacity`` counts entries, or, with ``weight``, the sum of the values' weights (characters of
text, say). A value heavier than the whole capacity is not kept. Not thread-safe: each is used
from one event loop, with no ``await`` between a miss and the ``put`` that follows it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

K = TypeVar("K", bound="Hashable")
V = TypeVar("V")


def _one(_value: object) -> int:
    return 1


class Lru(Generic[K, V]):
    def __init__(self, capacity: int, *, weight: Callable[[V], int] = _one) -> None:
        self.capacity = capacity
        self.weight = weight
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._total = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        """The value of ``key``, now the most recent; ``None`` when absent."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` as the most recent, unless ``key`` is already kept or ``value`` outweighs the capacity."""
        size = self.weight(value)
        if key in self._entries or size > self.capacity:
            return
        self._entries[key] = value
        self._total += size
        while self._total > self.capacity:
            _, dropped = self._entries.popitem(last=False)
            self._total -= self.weight(dropped)
