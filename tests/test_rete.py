"""triage.engine.rete's lean engine and matcher fire exactly what experta's own would.

Two engines are built from the same rules, one on experta's KnowledgeEngine and ReteMatcher,
one on triage.engine.rete's LeanEngine and LeanMatcher, and run on the same facts: a small rule set
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

from triage.engine import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import AS, MATCH, NOT, OR, TEST, Fact, KnowledgeEngine, P, Rule
from experta.agenda import Agenda
from experta.matchers import ReteMatcher
from experta.strategies import DepthStrategy

from triage.engine.report import parse_report
from triage.engine.rete import (
    LeanDepthStrategy,
    LeanEngine,
    LeanToken,
    _all_nodes,
    _CaptureTester,
    _LiteralTester,
    _PredicateTester,
    new_fact,
)
from triage.engine.rules import RuleEngine, _Engine, build_engine_class
from triage.knowledge.conditions import Requirements
from triage.knowledge.loader import load_knowledge
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


def _described(activations: list[Any]) -> list[tuple[Any, ...]]:
    """Activations as comparable values: their rule's action, facts (by id) and context (where
    the names experta gives unnamed patterns, which differ between networks, are left out)."""
    return [
        (
            a.rule._wrapped.__name__,
            sorted(f["__factid__"] for f in a.facts),
            sorted(
                (k, v["__factid__"] if isinstance(v, Fact) else v)
                for k, v in a.context.items()
                if not k.startswith("__pattern_")
            ),
            a.key,
        )
        for a in activations
    ]


def _by_conflict_set(activations: list[Any]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Activations as runs of one rule each (a conflict set's, in the matcher's order of
    conflict sets), each run's in any order: a conflict set's own activations come out of a
    set, so their order follows hashes that, through the pattern names, differ between networks."""
    runs: list[tuple[str, list[tuple[Any, ...]]]] = []
    for described in _described(activations):
        if runs and runs[-1][0] == described[0]:
            runs[-1][1].append(described)
        else:
            runs.append((described[0], [described]))
    return [(rule, sorted(run)) for rule, run in runs]


def test_lean_matcher_and_strategy_give_experta_s_activations_and_agenda_in_the_same_order() -> None:
    """On one engine's rules (so networks of one shape), LeanMatcher.changes returns what
    ReteMatcher.changes returns, conflict set by conflict set in the same order (it asks only
    those a token reached, in experta's order), and LeanDepthStrategy orders the agenda as
    DepthStrategy does, as facts are added and retracted."""
    rng = random.Random(21)
    engine = engine_on(LeanEngine)
    lean, stock = engine.matcher, ReteMatcher(engine)
    lean_agenda, stock_agenda = Agenda(), Agenda()
    lean_strategy, stock_strategy = LeanDepthStrategy(), DepthStrategy()
    live: list[Fact] = []
    next_id = 0
    compared = 0
    for _ in range(300):
        adding: list[Fact] = []
        for _ in range(rng.randint(0, 3)):
            fact: Fact = (
                Item(kind=rng.choice("abcd"), size=rng.randint(0, 4))
                if rng.random() < 0.6
                else Link(src=rng.choice("abcd"), dst=rng.choice("abcd"))
            )
            dict.__setitem__(fact, "__factid__", next_id)  # as the fact list would
            next_id += 1
            adding.append(fact)
        deleting = rng.sample(live, min(len(live), rng.randint(0, 2)))
        live = [f for f in live if f not in deleting] + adding
        lean_added, lean_removed = lean.changes(adding=adding, deleting=deleting)
        stock_added, stock_removed = stock.changes(adding=adding, deleting=deleting)
        assert _by_conflict_set(lean_added) == _by_conflict_set(stock_added)
        assert _by_conflict_set(lean_removed) == _by_conflict_set(stock_removed)
        lean_strategy.update_agenda(lean_agenda, lean_added, lean_removed)
        stock_strategy.update_agenda(stock_agenda, stock_added, stock_removed)
        assert _described(lean_agenda.activations) == _described(stock_agenda.activations)
        compared += len(stock_added) + len(stock_removed)
    assert compared > 300 and stock_agenda.activations  # it did add and remove activations


def test_lean_tests_replace_experta_s_checks_in_the_triage_network(engines: tuple[RuleEngine, RuleEngine]) -> None:
    """The literal, predicate and binding tests are made in the node (the differential tests
    show they decide as experta's checks do)."""
    lean, _ = engines
    engine = lean._take()
    kinds = {type(node) for node in _all_nodes(engine.matcher.root_node)}
    lean._give_back(engine)
    assert {_LiteralTester, _PredicateTester, _CaptureTester} <= kinds


def _state(engine: LeanEngine) -> dict[str, Any]:
    """What a reset must put back: facts, their counts and next id, agenda, every memory."""
    matcher = engine.matcher
    return {
        "facts": dict(engine.facts),
        "last_index": engine.facts.last_index,
        "counter": dict(engine.facts.reference_counter),
        "changes": (list(engine.facts.added), list(engine.facts.removed)),
        "agenda": list(engine.agenda.activations),
        "touched": set(matcher.touched),
        "pending": set(matcher.pending),
        "memories": [
            {
                k: (v.copy() if hasattr(v, "copy") else v)
                for k, v in vars(node).items()
                if "memory" in k or k in ("added", "removed")
            }
            for node in matcher._memory_nodes
        ],
    }


def test_a_reset_reuses_the_fact_list_and_agenda_and_leaves_nothing_behind() -> None:
    """After the first reset, a reset empties and refills the engine's own fact list and
    agenda (no new ones) and restores the memories: every decision starts from the same state."""
    engine = engine_on(LeanEngine)
    engine.reset()
    clean, facts, agenda = _state(engine), engine.facts, engine.agenda
    rng = random.Random(3)
    for steps in (float("inf"), 1, 2, 0):  # a full run, and runs stopped with activations left
        engine.declare(*[Item(kind=rng.choice("abc"), size=rng.randint(0, 4)) for _ in range(6)])
        engine.declare(Link(src="a", dst="b"), Link(src="b", dst="b"))
        engine.run(steps)
        assert _state(engine) != clean
        engine.reset()
        assert _state(engine) == clean
        assert engine.facts is facts and engine.agenda is agenda
    # A decision that fails inside the network, with some conflict sets changed and not asked.
    with pytest.raises(TypeError):
        engine.declare(Item(kind="a", size=1), Link(src="a", dst="a"), Item(kind="b", size="x"))
    assert engine.matcher.pending
    engine.reset()
    assert _state(engine) == clean


def test_report_fact_is_left_out_only_where_no_rule_could_use_it(engines: tuple[RuleEngine, RuleEngine]) -> None:
    """A report whose symptoms and factors no rule with a ReportFact pattern could match
    declares none (the fact ids after it move down by one, all alike, so the agenda keeps its
    order): the findings and boundaries are those, in the same order, of a decision that
    always declares it, on the same network (another network may order ties otherwise)."""
    lean, _ = engines
    pool = RuleEngine(lean.kb)
    users, always = pool.report_fact_users, Requirements(None)
    left_out = 0
    for raw in differential_reports(lean.kb, 3000):
        report = parse_report(lean.kb, *raw)
        symptoms = frozenset(sid for sid, _ in report.symptoms)
        left_out += not users.any_met(symptoms, frozenset(report.factors))
        pool.report_fact_users = users
        mine = pool.run(report)
        pool.report_fact_users = always
        assert mine == pool.run(report), report
    assert 1000 < left_out < 3000
