"""The bounded caches (triage.engine.cache): least recently used entries go first, the admission
policies keep what they say, and the answer cache keeps an answer from the second time its report
is asked."""

from __future__ import annotations

import gc

import pytest

from triage import Assessor, KnowledgeBase
from triage.engine.cache import BoundedCache, IdentityMap, IdentitySet


def test_least_recently_used_entries_go_first() -> None:
    cache: BoundedCache[str] = BoundedCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now "b" is the least recently used
    cache.put("c", "C")
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, "A", "C")
    assert cache.info().size == 2


def test_second_offer_keeps_an_entry_from_its_second_offer() -> None:
    cache: BoundedCache[str] = BoundedCache(3, admit="second-offer")
    cache.offer("a", "A")
    assert cache.get("a") is None  # offered once: not kept
    cache.offer("a", "A")
    assert cache.get("a") == "A"
    # ever new keys neither take room nor push out what a repeated key earned
    for n in range(100):
        cache.offer(f"new-{n}", "x")
    assert cache.get("a") == "A" and cache.info().size == 1
    # only the last `maxsize` keys offered once are remembered
    cache.offer("b", "B")
    for n in range(3):
        cache.offer(f"newer-{n}", "x")
    cache.offer("b", "B")
    assert cache.get("b") is None
    cache.clear()
    cache.offer("a", "A")
    assert cache.get("a") is None  # clear() forgets the offers too


def test_second_offer_while_room_fills_a_cold_cache_at_once() -> None:
    cache: BoundedCache[str] = BoundedCache(2, admit="second-offer", while_room=True)
    cache.offer("a", "A")
    cache.offer("b", "B")
    assert (cache.get("a"), cache.get("b")) == ("A", "B")  # kept the first time: there was room
    cache.offer("c", "C")
    assert cache.get("c") is None and cache.info().size == 2  # full: kept from its second time
    cache.offer("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")


def test_a_report_asked_again_is_answered_from_the_cache(kb: KnowledgeBase) -> None:
    assessor = Assessor(kb, cache_size=8)
    first, second, third = (assessor.assess(["redness:mild"], 30) for _ in range(3))
    assert assessor.cache is not None and assessor.cache.info().hits == 1
    assert third is second and first == second  # kept from the second time, then served
    assert first.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 30).to_dict()


def test_the_doorkeeper_policy_keeps_a_key_from_its_second_offer_once_full() -> None:
    cache: BoundedCache[str] = BoundedCache(2, admit="doorkeeper-bits", while_room=True)
    assert cache.offer("a", "A") and cache.offer("b", "B")  # room: kept at once
    assert not cache.offer("c", "C")  # full: noted in bits, not kept
    assert cache.offer("c", "C")  # its second offer lets it in, pushing out the oldest
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")
    cache.clear()
    assert cache.info().size == 0 and cache.offer("c", "C")  # empty again: room


def test_the_always_policy_keeps_every_offer_and_an_unknown_policy_is_refused() -> None:
    cache: BoundedCache[str] = BoundedCache(1)
    assert cache.offer("a", "A") and cache.offer("b", "B")
    assert (cache.get("a"), cache.get("b")) == (None, "B")
    with pytest.raises(ValueError, match="unknown admission policy 'sometimes'; valid: always, second-offer"):
        BoundedCache(1, admit="sometimes")  # type: ignore[arg-type]


def test_an_identity_set_knows_objects_not_equal_values_and_stays_bounded() -> None:
    class Thing:
        pass

    seen: IdentitySet[Thing] = IdentitySet(3)
    things = [Thing() for _ in range(3)]
    assert seen.add(things[0]) is False and seen.add(things[0]) is True  # noted, then known
    assert things[0] in seen and things[1] not in seen
    assert seen.unseen([things[1], things[0], things[2], things[1]]) == [0, 2, 3]
    for thing in things[1:]:
        seen.add(thing)
    assert seen.unseen(things) == []
    seen.add(Thing())  # full: it starts again
    assert len(seen) == 1 and things[0] not in seen


def test_an_identity_map_entry_goes_with_its_object() -> None:
    class Thing:
        pass

    kept: IdentityMap[Thing, str] = IdentityMap()
    thing, other = Thing(), Thing()
    kept.put(thing, "kept")
    assert kept.get(thing) == "kept" and kept.get(other) is None and len(kept) == 1
    del thing
    gc.collect()
    assert len(kept) == 0
