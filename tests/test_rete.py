"""triage.rete's lean engine and matcher fire exactly what experta's own would.

Two engines are built from the same rules, one on experta's KnowledgeEngine and ReteMatcher,
one on triage.rete's LeanEngine and LeanMatcher, and run on the same facts: a small rule set
that uses what the triage rules do not (variable joins, NOT, OR, TEST, salience, facts
declared by actions), and the generated triage rules on thousands of seeded random reports.

Firings are compared as collections: experta orders activations of equal priority by how it
happened to build each class's network (it iterates a set of rules hashed by identity), so
two classes with the same rules may fire equal-priority rules in different orders, in experta
alone too. No answer depends on that order.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from triage import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import AS, MATCH, NOT, OR, TEST, Fact, KnowledgeEngine, P, Rule
from experta.matchers import ReteMatcher

from triage.engine import RuleEngine, _Engine, build_engine_class
from triage.knowledge import load_knowledge
from triage.report import parse_report
from triage.rete import LeanEngine, LeanToken, new_fact
from verification.reports import differential_reports


class Item(Fact):
    """kind, size"""


class Link(Fact):
    """src, dst"""


def engine_on(base: type[KnowledgeEngine]) -> KnowledgeEngine:
    """A fresh engine class on `base` (rules are per class), recording every firing."""

    class Engine(base):  # type: ignore[valid-type,misc]
        fired: list[tuple[Any, ...]]

        @Rule(Item(kind=MATCH.k, size=P(lambda s: s > 2)), Link(src=MATCH.k, dst=MATCH.d))
        def join(self, k: str, d: str) -> None:
            self.fired.append(("join", k, d))

        @Rule(Item(kind="a"), NOT(Link(src="a")))
        def lonely(self) -> None:
            self.fired.append(("lonely",))

        @Rule(OR(Item(kind="b"), Item(size=1)))
        def either(self) -> None:
            self.fired.append(("either",))

        @Rule(AS.item << Item(kind=MATCH.k), TEST(lambda k: k != "c"), salience=5)
        def tested(self, item: Fact, k: str) -> None:
            self.fired.append(("tested", k, item["size"]))

        @Rule(Link(dst=MATCH.d), Item(kind=MATCH.d, size=~P(lambda s: s == 0)))
        def derive(self, d: str) -> None:
            self.fired.append(("derive", d))
            self.declare(Item(kind=f"derived-{d}", size=0))

        @Rule(Link(src=MATCH.x, dst=MATCH.x))  # one variable twice in one pattern
        def loop(self, x: str) -> None:
            self.fired.append(("loop", x))

        @Rule(Link(src=MATCH.x, dst=~MATCH.x))  # a negated binding
        def across(self, x: str) -> None:
            self.fired.append(("across", x))

        @Rule(Item(kind=P(lambda k: k.startswith("derived"))), salience=-1)
        def derived(self) -> None:
            self.fired.append(("derived",))

    engine = Engine()
    engine.fired = []
    return engine


def run(engine: KnowledgeEngine, facts: list[Fact]) -> list[tuple[Any, ...]]:
    engine.fired = []  # type: ignore[attr-defined]
    engine.reset()
    engine.declare(*[type(f)(**f) for f in facts])
    engine.run()
    return engine.fired  # type: ignore[attr-defined,no-any-return]


def test_lean_engine_fires_what_experta_fires_in_the_same_order() -> None:
    rng = random.Random(14)
    stock, lean = engine_on(KnowledgeEngine), engine_on(LeanEngine)
    kinds = "abcd"
    firings = 0
    for _ in range(400):  # each engine is reused, as in production: resets must leave nothing behind
        facts: list[Fact] = [Item(kind=rng.choice(kinds), size=rng.randint(0, 4)) for _ in range(rng.randint(0, 5))]
        facts += [Link(src=rng.choice(kinds), dst=rng.choice(kinds)) for _ in range(rng.randint(0, 3))]
        expected = sorted(run(stock, facts))
        assert sorted(run(lean, facts)) == expected, facts
        firings += len(expected)
    assert firings > 1000  # the rules did fire, in every form


class _StockEngine(_Engine):
    """The generated triage rules' base, on experta's own matcher, reset and run."""

    __matcher__ = ReteMatcher
    reset = KnowledgeEngine.reset
    run = KnowledgeEngine.run
    get_deffacts = KnowledgeEngine.get_deffacts


@pytest.fixture(scope="module")
def engines() -> tuple[RuleEngine, RuleEngine]:
    kb = load_knowledge()
    lean, stock = RuleEngine(kb), RuleEngine(kb)
    stock.engine_class = build_engine_class(kb, stock.symptom_classes, stock.factor_classes, base=_StockEngine)
    return lean, stock


def test_generated_rules_conclude_the_same_on_the_lean_engine(engines: tuple[RuleEngine, RuleEngine]) -> None:
    lean, stock = engines
    engine = stock._take()
    assert type(engine.matcher) is ReteMatcher
    stock._give_back(engine)
    for raw in differential_reports(lean.kb, 2000):
        report = parse_report(lean.kb, *raw)
        mine, theirs = lean.run(report), stock.run(report)
        assert sorted(mine.findings, key=repr) == sorted(theirs.findings, key=repr), report
        assert sorted(mine.boundaries) == sorted(theirs.boundaries), report


def test_new_fact_is_the_fact_experta_would_make() -> None:
    values = {"symptom": "redness", "until": 48.0, "emergency": False, "phase": None, "factors": ("diabetes",)}
    made, expected = new_fact(Item, values), Item(**values)
    assert made == expected and type(made) is Item
    assert vars(made) == vars(expected)  # the same private state (Fact's defaults)
    assert hash(made) == hash(expected)


def test_lean_token_copies_are_independent() -> None:
    token = LeanToken(LeanToken.TagType.VALID, Item(kind="a"), {"k": "a"})
    copy = token.copy()
    copy.context["k"] = "b"
    copy.data.add(Item(kind="b"))
    assert token.context == {"k": "a"} and len(token.data) == 1
    assert type(copy) is LeanToken and copy.is_valid()
