"""The bounded LRU behind the caches (triage.engine.cache), and the answer cache's rule of keeping an
answer from the second time its report is asked."""

from __future__ import annotations

from triage import Assessor, KnowledgeBase
from triage.engine.cache import LruCache


def test_least_recently_used_entries_go_first() -> None:
    cache: LruCache[str] = LruCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now "b" is the least recently used
    cache.put("c", "C")
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, "A", "C")
    assert cache.info().size == 2


def test_put_if_seen_keeps_an_entry_from_its_second_offer() -> None:
    cache: LruCache[str] = LruCache(3)
    cache.put_if_seen("a", "A")
    assert cache.get("a") is None  # offered once: not kept
    cache.put_if_seen("a", "A")
    assert cache.get("a") == "A"
    # ever new keys neither take room nor push out what a repeated key earned
    for n in range(100):
        cache.put_if_seen(f"new-{n}", "x")
    assert cache.get("a") == "A" and cache.info().size == 1
    # only the last `maxsize` keys offered once are remembered
    cache.put_if_seen("b", "B")
    for n in range(3):
        cache.put_if_seen(f"newer-{n}", "x")
    cache.put_if_seen("b", "B")
    assert cache.get("b") is None
    cache.clear()
    cache.put_if_seen("a", "A")
    assert cache.get("a") is None  # clear() forgets the offers too


def test_put_if_seen_while_room_fills_a_cold_cache_at_once() -> None:
    cache: LruCache[str] = LruCache(2)
    cache.put_if_seen("a", "A", while_room=True)
    cache.put_if_seen("b", "B", while_room=True)
    assert (cache.get("a"), cache.get("b")) == ("A", "B")  # kept the first time: there was room
    cache.put_if_seen("c", "C", while_room=True)
    assert cache.get("c") is None and cache.info().size == 2  # full: kept from its second time
    cache.put_if_seen("c", "C", while_room=True)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")


def test_a_report_asked_again_is_answered_from_the_cache(kb: KnowledgeBase) -> None:
    assessor = Assessor(kb, cache_size=8)
    first, second, third = (assessor.assess(["redness:mild"], 30) for _ in range(3))
    assert assessor.cache is not None and assessor.cache.info().hits == 1
    assert third is second and first == second  # kept from the second time, then served
    assert first.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 30).to_dict()
