"""Bounded memory for work already done: the one place the caches' policies are written.

Every memo here has a fixed ceiling, so memory cannot grow with the traffic, and is safe to
share between threads. Which one to use:

- `BoundedCache`: a least-recently-used map of at most `maxsize` entries, for values worth
  keeping while they are asked for (the answer cache, triage.answer.assess; the phase cache,
  triage.engine.phase_cache). What it keeps of what it is offered is its admission policy:

  * `admit="always"`: every entry offered is kept, pushing out the least recently used.
  * `admit="second-offer"`: an entry is kept from the second time its key is offered; the
    keys offered once are remembered exactly (a hash each, the last `maxsize` of them). Most
    keys never come back (a patient's hours are a clock difference), and they then neither
    push out the entries that keys which do come back have earned nor take an entry's
    memory: a key offered once costs a hash, not an entry. For entries much larger than a
    hash (an answer).
  * `admit="doorkeeper-bits"`: the same rule, the keys offered once noted in bits
    (`Doorkeeper`). For entries about as small as a key (the phase cache's two ints), where
    an exact record of the keys offered once would take as much memory as the cache itself.
  * `while_room=True` (with either second-offer policy): an entry is kept at once while the
    cache is not full, so a cold cache fills from the first offers.

- `BoundedMemo`: a pure function's values for the first `maxsize` keys, nothing evicted and no
  lock, for keys from a finite set known in advance (a knowledge base's own bounds and
  findings: triage.answer.phrasebook).
- `IdentitySet` and `IdentityMap`: memos about objects themselves, not equal values, that
  follow the objects' lifetimes by weak reference (the web API's checked findings and written
  answers, web.answer_check): an object gone is never mistaken for a new one at its address.

Values must be immutable: they are shared between threads.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, Literal, NamedTuple, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

Admission = Literal["always", "second-offer", "doorkeeper-bits"]
ADMISSIONS: tuple[Admission, ...] = ("always", "second-offer", "doorkeeper-bits")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int
    maxsize: int


class Doorkeeper:
    """Which keys were offered lately, one bit each (`admit="doorkeeper-bits"`).

    Two tables, the bits of the current and of the previous `window` offers: a key is
    remembered for between one and two windows. A key seen before is let in and forgotten.
    Two keys can share a bit (the tables have eight bits per offer of a window): the second
    then gets in at its first offer. That changes which entries are kept, never what one holds."""

    def __init__(self, window: int) -> None:
        self.window = max(window, 1)
        self._bits = 8 * self.window  # a byte per offer of a window
        self._current, self._previous = bytearray(self.window), bytearray(self.window)
        self._offers = 0
        self._lock = threading.Lock()

    def seen_before(self, key: Hashable) -> bool:
        """Whether the key was offered lately (then it is forgotten, as it is let in); else it is noted."""
        bit = hash((key,)) % self._bits  # the tuple's hash mixes all of the key's bits (an int's is the int)
        place, mask = bit >> 3, 1 << (bit & 7)
        with self._lock:
            current, previous = self._current, self._previous
            if (current[place] | previous[place]) & mask:
                current[place] &= ~mask
                previous[place] &= ~mask
                return True
            current[place] |= mask
            self._offers += 1
            if self._offers >= self.window:
                self._previous, self._current, self._offers = current, bytearray(self.window), 0
            return False

    def clear(self) -> None:
        with self._lock:
            self._current, self._previous, self._offers = bytearray(self.window), bytearray(self.window), 0


class BoundedCache(Generic[V]):
    """A least-recently-used map of at most `maxsize` entries, keeping what it is offered by
    its admission policy (see the module docstring)."""

    def __init__(self, maxsize: int, admit: Admission = "always", while_room: bool = False) -> None:
        if admit not in ADMISSIONS:
            raise ValueError(f"unknown admission policy {admit!r}; valid: {', '.join(ADMISSIONS)}")
        self.maxsize = maxsize
        self.admit = admit
        self.while_room = while_room
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        self._offered: OrderedDict[int, bool] = OrderedDict()  # hashes of keys offered once ("second-offer")
        self._doorkeeper = Doorkeeper(maxsize) if admit == "doorkeeper-bits" else None

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
        """Keep the entry, whatever the admission policy."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def offer(self, key: Hashable, value: V) -> bool:
        """Keep the entry when the admission policy lets it in; whether it did. (One method
        for every policy: it is on the path of every answer and every phase decided.)"""
        door = self._doorkeeper
        if door is not None:  # "doorkeeper-bits"
            if not ((self.while_room and not self.full()) or door.seen_before(key)):
                return False
        elif self.admit != "always":  # "second-offer"
            marker = hash(key)
            with self._lock:
                room = self.while_room and len(self._data) < self.maxsize
                if not room and not self._offered.pop(marker, False):
                    self._offered[marker] = True
                    if len(self._offered) > self.maxsize:
                        self._offered.popitem(last=False)
                    return False
        self.put(key, value)
        return True

    def full(self) -> bool:
        """Whether the cache holds `maxsize` entries (a new one would push out the oldest)."""
        with self._lock:
            return len(self._data) >= self.maxsize

    def clear(self) -> None:
        """Forget every entry and every offer."""
        with self._lock:
            self._data.clear()
            self._offered.clear()
            self._hits = self._misses = 0
        if self._doorkeeper is not None:
            self._doorkeeper.clear()

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self.maxsize)


class BoundedMemo(Generic[K, V]):
    """A pure function's values, remembered for the first `maxsize` keys and computed each
    time after that: memory has a fixed ceiling and nothing is ever evicted (the keys asked
    for are a knowledge base's own, a finite set). Safe between threads without a lock: each
    call is one dict read and at most one write, and any thread computes the same value."""

    def __init__(self, compute: Callable[[K], V], maxsize: int) -> None:
        self.compute = compute
        self.maxsize = maxsize
        self._memo: dict[K, V] = {}

    def __call__(self, key: K) -> V:
        try:
            return self._memo[key]
        except KeyError:
            value = self.compute(key)
            if len(self._memo) < self.maxsize:
                self._memo[key] = value
            return value

    def __len__(self) -> int:
        return len(self._memo)


class IdentitySet(Generic[T]):
    """Objects seen lately, by identity, at most `maxsize`: a weak reference each, so an object
    is not kept alive by being seen, and a new object at a dead one's address is not taken for
    it. When full it is emptied and starts again (the oldest would mostly be gone already;
    cheaper than keeping an order per object). No lock: each call reads and writes the dict
    once or twice, and two threads at once can at worst forget an object, which is then only
    seen as new again."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._refs: dict[int, weakref.ref[T]] = {}

    def __contains__(self, obj: T) -> bool:
        ref = self._refs.get(id(obj))
        return ref is not None and ref() is obj

    def unseen(self, objs: Sequence[T]) -> list[int]:
        """The places in `objs` of those not seen lately (one call for a whole answer's findings)."""
        refs, places = self._refs, []
        for i, obj in enumerate(objs):
            ref = refs.get(id(obj))
            if ref is None or ref() is not obj:
                places.append(i)
        return places

    def add(self, obj: T) -> bool:
        """Note the object as seen; whether it was seen lately already."""
        refs = self._refs
        ref = refs.get(id(obj))
        if ref is not None and ref() is obj:
            return True
        if len(refs) >= self.maxsize:
            refs.clear()
        refs[id(obj)] = weakref.ref(obj)
        return False

    def __len__(self) -> int:
        return len(self._refs)


class IdentityMap(Generic[T, V]):
    """A value per object, kept for as long as the object lives: an entry goes when its object
    is dropped (a weak reference's callback), so its memory follows whatever holds the objects
    (for the web API's written answers, the answer cache's bound)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[T], V]] = {}

    def get(self, obj: T) -> V | None:
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None

    def put(self, obj: T, value: V) -> None:
        key, entries = id(obj), self._entries

        def forget(ref: weakref.ref[T]) -> None:  # the object is gone: so is its entry
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                entries.pop(key, None)

        entries[key] = (weakref.ref(obj, forget), value)

    def __len__(self) -> int:
        return len(self._entries)
