"""A bounded, thread-safe LRU map: the answer cache and the phase cache (triage.engine.phase_cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, NamedTuple, TypeVar

V = TypeVar("V")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int
    maxsize: int


class LruCache(Generic[V]):
    """Least recently used entries are dropped beyond `maxsize`. Values must be immutable
    (they are shared between threads)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        self._offered: OrderedDict[int, bool] = OrderedDict()  # hashes of keys offered once (put_if_seen)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self._misses += 1
            else:
                self._hits += 1
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def put_if_seen(self, key: Hashable, value: V, while_room: bool = False) -> None:
        """Keep the entry only when its key was offered before (among the last `maxsize` keys
        offered and not kept), or, with `while_room`, while the cache is not full (so a cold
        cache fills at once). Keys that never repeat (a patient's hours are a clock
        difference, issue 14) then do not push out the entries that repeated keys earned, nor
        take memory; a key that repeats is kept from its second time on."""
        marker = hash(key)
        with self._lock:
            room = while_room and len(self._data) < self.maxsize
            if not room and not self._offered.pop(marker, False):
                self._offered[marker] = True
                if len(self._offered) > self.maxsize:
                    self._offered.popitem(last=False)
                return
        self.put(key, value)

    def full(self) -> bool:
        """Whether the cache holds `maxsize` entries (a new one would push out the oldest)."""
        with self._lock:
            return len(self._data) >= self.maxsize

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._offered.clear()
            self._hits = self._misses = 0

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self.maxsize)
