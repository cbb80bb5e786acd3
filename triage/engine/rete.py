"""experta's engine and Rete matcher, with the same semantics and less work per decision.

experta 1.9.4 is written for clarity, not speed: every node copies every token it receives,
a token checks its own types when made, every check and rule firing formats a log line that
our silenced loggers then drop, every reset wipes every memory, declares the deffacts again
and inspects their signatures. Profiled on random reports, this plumbing was most of a
decision's cost (benchmarks/RESULTS.md). The classes here keep experta's network, agenda, fact list and strategy
(the same matches and activations) and remove only work whose result nobody reads:

- LeanMatcher sends a fact straight past the type tests to the branches of its type and asks
  only the conflict sets a token reached for their changes; after building experta's network
  it swaps in lean versions of its checks and nodes (_streamline). A test of a field against
  a literal or a predicate, and a fact binding, are made in the node itself, not through
  experta's check objects (three or four calls each).
- A token is copied only when a node changes its context (a check that binds a variable);
  nodes that only read a token pass it on as it is. A conflict set makes an activation only
  for a new match, from the token's frozen info, its hash (experta's value) computed once.
- Memory nodes note that they were activated. LeanEngine's first reset is experta's; what it
  leaves (the deffacts' facts, in the fact list and in the memories) is kept, and later resets
  put it back in the memories a decision touched, and in the same fact list and agenda.
- Declaring checks a fact's keys once per set of keys and its values once per type; a fact
  class without fields is not validated; the agenda runs without log lines, keys activations
  without experta's memo (it never hits) and asks the matcher only after facts changed.

Nothing here knows about triage: triage.engine.rules generates the rules. That the answers are
unchanged is tested against the CLIPS backend and the oracle (tests/test_clips_agreement.py,
tests/test_properties.py) and against experta's own classes (tests/test_rete.py).

Interface: `LeanEngine` (the base of the generated engine classes; its matcher, fact list and
strategy are the lean ones below) and `new_fact`. Nothing else here is for other modules;
tests/test_rete.py tests the parts one by one against experta's own classes.

Written for experta 1.9.4 exactly (setup.cfg pins it). Besides its public classes this reads,
calls or overrides these private names of experta's, each of which a new version may change:
`Fact._Fact__defaults`; `KnowledgeEngine._KnowledgeEngine__declare` and `_get_by_type`;
`DefFacts._wrapped` and `Rule._wrapped_self` (which `Rule.__get__` sets);
`ReteMatcher._get_conflict_set_nodes`; `OrdinaryMatchNode._OrdinaryMatchNode__activation`; the
two-input nodes' `_activate_left` and `_activate_right`; every node's `_reset`;
`FactList._get_fact_id`; `DepthStrategy._update_agenda`. And it relies on the shape of experta's
data: a Token is the tuple (tag, facts, context) and a TokenInfo (facts, context items); a
node's `children` are ChildNode(node, callback) and its test is `matcher`; the memories of
ConflictSetNode (`memory`, `added`, `removed`), OrdinaryMatchNode and NotNode (`left_memory`,
`right_memory`); FeatureCheck's `what`, `check`, `expected` and `how`; FactList's
`last_index`, `reference_counter`, `added` and `removed`; Agenda's `activations`. Moving to
another experta version means reading these again and running tests/test_rete.py.
"""

from __future__ import annotations

import bisect
import functools
import logging
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from itertools import chain
from typing import Any

from triage.engine import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import DefFacts, Fact, KnowledgeEngine, Rule, watchers
from experta.activation import Activation
from experta.agenda import Agenda
from experta.conditionalelement import ConditionalElement
from experta.factlist import FactList
from experta.fieldconstraint import L, P
from experta.matchers import ReteMatcher
from experta.matchers.rete.check import FactCapture, FeatureCheck, TypeCheck
from experta.matchers.rete.mixins import ChildNode, NoMemory
from experta.matchers.rete.nodes import ConflictSetNode, FeatureTesterNode, NotNode, OrdinaryMatchNode
from experta.matchers.rete.token import Token, TokenInfo
from experta.strategies import DepthStrategy

__all__ = ["LeanEngine", "new_fact"]

_ABSENT = object()
_VALID = Token.TagType.VALID
_INVALID = Token.TagType.INVALID


class LeanToken(Token):
    """experta's Token without the type assertions it makes on every copy (our own code makes
    every token from one fact, and copies keep what they copy)."""

    __slots__ = ()

    def __new__(cls, tag: Any, data: Any, context: Any = None) -> LeanToken:
        data = {data} if isinstance(data, Fact) else set(data)
        return tuple.__new__(cls, (tag, data, {} if context is None else context))

    def copy(self) -> LeanToken:
        return tuple.__new__(LeanToken, (self[0], self[1].copy(), self[2].copy()))


def new_fact(fact_class: type[Fact], values: dict[str, Any]) -> Fact:
    """`fact_class(**values)` for values that are already hashable (strings, numbers, booleans,
    None, tuples of these): experta's constructor stores each through `freeze`, which returns
    such a value as it is, so storing them directly makes the same fact."""
    fact = dict.__new__(fact_class)
    dict.update(fact, values)
    fact._Fact__defaults = {}  # what Fact.__init__ sets besides the values
    return fact


def _lean_check(check: Any) -> Callable[..., Any]:
    """A check's plain-function twin: the same result, without the log line experta formats
    for every call. Checks with a form this does not cover are kept as they are."""
    if isinstance(check, TypeCheck):
        fact_type = check.fact_type

        def type_check(fact: Any) -> Any:
            return type(fact) == fact_type  # noqa: E721  (experta's own test, exactly)

        return type_check
    if isinstance(check, FactCapture):
        bind = check.bind

        def capture(fact: Any) -> dict[str, Any]:
            return {bind: fact}

        return capture
    if isinstance(check, FeatureCheck) and isinstance(check.what, str) and "__" not in check.what:
        if check.what.isnumeric() or not check.what:
            return check  # type: ignore[no-any-return]
        what, test, expected = check.what, check.check, check.expected

        def feature_check(data: Any, is_fact: bool = True) -> Any:
            if not is_fact:
                return test(data, expected)
            try:
                record = data[what]
            except (IndexError, KeyError, TypeError):
                return False
            return test(record, expected)

        return feature_check
    return check  # type: ignore[no-any-return]


class _LeanFeatureTester(FeatureTesterNode):
    """A FeatureTesterNode that copies a token only when its check binds something."""

    def activate(self, token: Token) -> None:
        (fact,) = token[1]
        match = self.matcher(fact)
        if not match:
            return
        if match is not True and isinstance(match, Mapping):  # a binding: experta's own test
            token = token.copy()
            context = token[2]
            for key, value in match.items():
                if isinstance(key, tuple):  # a negated binding
                    if key[1] in context and context[key[1]] == value:
                        return
                elif context.get(key, value) != value or context.get((False, key), _ABSENT) == value:
                    return
            context.update(match)
        for child in self.children:
            child.callback(token)


class _LiteralTester(_LeanFeatureTester):
    """A test of one field against a literal (experta's `L(value)` without a binding), made
    in the node: experta's check reads the field, then `expected.value == actual`, through
    three calls per fact. A fact without the field fails, as in experta."""

    key: Any
    literal: Any

    def activate(self, token: Token) -> None:
        (fact,) = token[1]
        try:
            value = fact[self.key]
        except (IndexError, KeyError, TypeError):
            return
        if self.literal == value:
            for child in self.children:
                child.callback(token)


class _PredicateTester(_LeanFeatureTester):
    """A test of one field by a predicate (experta's `P(function)` without a binding), made in
    the node: the function is called on the field as experta's check would, without the four
    calls around it."""

    key: Any
    predicate: Callable[[Any], Any]

    def activate(self, token: Token) -> None:
        (fact,) = token[1]
        try:
            value = fact[self.key]
        except (IndexError, KeyError, TypeError):
            return
        if self.predicate(value):
            for child in self.children:
                child.callback(token)


class _CaptureTester(_LeanFeatureTester):
    """A fact binding (`AS.name << Fact()`, or the name experta gives every pattern), made in
    the node: the same test of the token's context as for any binding, written for one name."""

    bind: str

    def activate(self, token: Token) -> None:
        (fact,) = token[1]
        bind, context = self.bind, token[2]
        if context:  # `fact != fact` and `_ABSENT == fact` are always false: only bound names can fail
            if bind in context and context[bind] != fact:
                return
            negated = (False, bind)
            if negated in context and context[negated] == fact:
                return
        token = tuple.__new__(LeanToken, (token[0], token[1].copy(), {**context, bind: fact}))
        for child in self.children:
            child.callback(token)


def _lean_tester(node: FeatureTesterNode) -> None:
    """Turn a FeatureTesterNode into the lean node for its check (in place)."""
    check = node.matcher
    node.__class__ = _LeanFeatureTester
    if isinstance(check, FactCapture) and isinstance(check.bind, str):
        node.__class__ = _CaptureTester
        node.bind = check.bind
    elif isinstance(check, FeatureCheck) and _plain_key(check.what) and type(check.how) in (L, P):
        if check.how.__bind__ is None and type(check.how) is L:
            node.__class__ = _LiteralTester
            node.key, node.literal = check.what, check.how.value
        elif check.how.__bind__ is None:
            node.__class__ = _PredicateTester
            node.key, node.predicate = check.what, check.how.match
    node.matcher = _lean_check(check)


def _plain_key(what: Any) -> bool:
    """A field name experta reads as `fact[what]` (not a nested `a__b` path, not special)."""
    return isinstance(what, str) and bool(what) and "__" not in what and not what.isnumeric()


class _Remembering:
    """A node with a memory: notes itself in its matcher's `touched` set when activated, so a
    reset restores only the memories a decision changed. Its token is read, never changed
    (experta's memory nodes store a frozen copy and make new tokens), so none is copied."""

    touched: set[Any]


class _LeanRule(Rule):
    """A rule as the matcher holds it (experta's prepared copy, never an engine's attribute),
    hashed once: every activation hashes its rule, and experta's Rule.__hash__ hashes each of
    its patterns anew. The hash is experta's and changes only with `_wrapped_self`, which
    only attribute access from an engine (`__get__`) sets: it is recomputed there."""

    _lean_hash: int

    def __hash__(self) -> int:
        return self._lean_hash

    def rehash(self) -> None:
        self._lean_hash = super().__hash__()

    def __get__(self, instance: Any, owner: Any) -> _LeanRule:
        super().__get__(instance, owner)
        self.rehash()
        return self


def _lean_rule(rule: Any) -> Any:
    """The matcher's rule as a _LeanRule (in place); a rule of another class is left as it is."""
    if type(rule) is Rule:
        rule.__class__ = _LeanRule
        rule.rehash()
    return rule


class _LeanActivation(Activation):
    """experta's Activation, made from a token's frozen info (no set rebuilt) with its hash
    computed once, to the value experta's Activation.__hash__ gives."""

    _hash: int

    def __hash__(self) -> int:
        return self._hash


def _activation(rule: Rule, info: TokenInfo) -> _LeanActivation:
    """`Activation(rule, info.data, {str keys of info.context})`, as experta's conflict set makes it."""
    activation = object.__new__(_LeanActivation)
    context = {k: v for k, v in info.context if isinstance(k, str)}
    activation.rule, activation.facts, activation.key, activation.context = rule, set(info.data), None, context
    # experta's hash((rule, frozenset(facts), frozenset(context.items()))): the token's frozen
    # sets are equal to those (the context's too when no key was dropped), and carry their hash.
    items = info.context if len(context) == len(info.context) else frozenset(context.items())
    activation._hash = hash((rule, info.data, items))
    return activation


def _token_info(token: Token) -> TokenInfo:
    """token.to_info(), without the three calls through TokenInfo's constructors."""
    return tuple.__new__(TokenInfo, (frozenset(token[1]), frozenset(token[2].items())))


class _LeanConflictSet(_Remembering, ConflictSetNode):
    order: int  # its place in experta's order of conflict sets
    memory: set[Any]
    added: set[Any]
    removed: set[Any]
    pending: set[Any]  # the matcher's conflict sets with activations to hand over

    def activate(self, token: Token) -> None:
        """experta's ConflictSetNode._activate; the activation is made only when it is used."""
        self.touched.add(self)
        info = _token_info(token)
        if token[0] is _VALID:
            if info in self.memory:
                return
            self.memory.add(info)
            activation = _activation(self.rule, info)
            if self.removed and activation in self.removed:
                self.removed.remove(activation)
            else:
                self.added.add(activation)
        else:
            self.memory.remove(info)  # as experta: a KeyError for a fact never matched
            activation = _activation(self.rule, info)
            if self.added and activation in self.added:
                self.added.remove(activation)
            else:
                self.removed.add(activation)
        self.pending.add(self)

    def wipe(self) -> None:
        """Empty memories (experta's _reset, and no activations to hand over)."""
        self.memory, self.added, self.removed = set(), set(), set()


class _RememberingTwoInput(_Remembering):
    """A two-input memory node (a join or a NOT), activated from either side without a copy."""

    _activate_left: Callable[[Token], None]
    _activate_right: Callable[[Token], None]

    def activate_left(self, token: Token) -> None:
        self.touched.add(self)
        self._activate_left(token)

    def activate_right(self, token: Token) -> None:
        self.touched.add(self)
        self._activate_right(token)


class _LeanJoin(_RememberingTwoInput, OrdinaryMatchNode):
    left_memory: list[Any]
    right_memory: list[Any]

    def wipe(self) -> None:
        """Empty memories (experta's _reset)."""
        self.left_memory, self.right_memory = [], []

    def activate_left(self, token: Token) -> None:
        self.touched.add(self)
        self._OrdinaryMatchNode__activation(token, self.left_memory, self.right_memory, True)

    def activate_right(self, token: Token) -> None:
        self.touched.add(self)
        self._OrdinaryMatchNode__activation(token, self.right_memory, self.left_memory, False)

    def _OrdinaryMatchNode__activation(  # experta's private join step, without its log lines
        self, token: Token, branch_memory: list[Any], matching_memory: list[Any], is_left: bool = True
    ) -> None:
        if token[0] is _VALID:
            branch_memory.append(_token_info(token))
        else:
            with suppress(ValueError):
                branch_memory.remove(_token_info(token))
        context = token[2]
        for other_data, other_items in matching_memory:
            other_context = dict(other_items)
            if self.matcher(*((context, other_context) if is_left else (other_context, context))):
                joined = {k: v for k, v in context.items() if isinstance(k, str)}
                joined.update((k, v) for k, v in other_context.items() if not isinstance(k, tuple))
                joined_token = tuple.__new__(LeanToken, (token[0], token[1] | other_data, joined))
                for child in self.children:
                    child.callback(joined_token)


class _LeanNot(_RememberingTwoInput, NotNode):
    left_memory: dict[Any, int]
    right_memory: list[Any]

    def wipe(self) -> None:
        """Empty memories (experta's _reset)."""
        self.left_memory, self.right_memory = {}, []


_LEAN_NODES: dict[type, type] = {  # FeatureTesterNode: by its check (_lean_tester)
    ConflictSetNode: _LeanConflictSet,
    OrdinaryMatchNode: _LeanJoin,
    NotNode: _LeanNot,
}
# What each memory node's memory is, to copy it: (attribute, container type).
_MEMORIES: dict[type, tuple[tuple[str, type], ...]] = {
    _LeanConflictSet: (("memory", set), ("added", set), ("removed", set)),
    _LeanJoin: (("left_memory", list), ("right_memory", list)),
    _LeanNot: (("left_memory", dict), ("right_memory", list)),
}


def _all_nodes(root: Any) -> list[Any]:
    """Every node of the network under `root` (itself included), each once."""
    seen: dict[int, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(child.node for child in node.children)
    return list(seen.values())


def _streamline(root: Any, touched: set[Any], pending: set[Any]) -> None:
    """Swap in the lean checks and nodes, then re-point every parent at its children's (new)
    activation methods, which the network holds as bound methods."""
    nodes = _all_nodes(root)
    for node in nodes:
        if type(node) is FeatureTesterNode:
            _lean_tester(node)
            continue
        lean = _LEAN_NODES.get(type(node))
        if lean is not None:
            node.__class__ = lean
        if isinstance(node, _Remembering):
            node.touched = touched
        if isinstance(node, _LeanConflictSet):
            node.rule = _lean_rule(node.rule)
            node.pending = pending
    for node in nodes:
        node.children[:] = [
            ChildNode(child.node, getattr(child.node, child.callback.__name__)) for child in node.children
        ]


def _matcher_of(node: Any) -> Any:
    return getattr(node, "matcher", None)


class LeanMatcher(ReteMatcher):
    """experta's Rete matcher with a flat reset, typed dispatch and a cheaper poll.

    experta resets the network by recursing from the root into every child, so a node
    shared by several rules is reset once per path to it (about 1.4 visits per node here).
    Node memories are independent, so wiping each distinct node once is the same reset; later
    resets put back the clean state in the memories a decision touched (restore_clean). After
    every fired rule experta asks every conflict-set node for its changes; a conflict set has
    changes only if a token reached it since it was last asked, so each one notes itself as
    pending when one does, and only those are asked, in experta's order: the same activations
    in the same order.
    experta's root sends every fact to each of its children, each of which tests the fact's
    type first; here a fact goes straight to the children of the test for its own type (the
    others would reject it), in the same order.
    """

    def __init__(self, engine: KnowledgeEngine) -> None:
        super().__init__(engine)
        nodes = _all_nodes(self.root_node)
        # Only nodes with a memory have anything to wipe (most are feature tests without one).
        self._memory_nodes = tuple(n for n in nodes if type(n)._reset is not NoMemory._reset)
        self.touched: set[Any] = set()  # memory nodes activated since the clean state
        self.pending: set[Any] = set()  # conflict sets activated since they were last asked
        self._clean: dict[Any, tuple[tuple[str, Any], ...]] | None = None
        for order, csn in enumerate(self._get_conflict_set_nodes()):
            csn.order = order
        # The root's children each test one fact type first: send a fact only to those of its type.
        untyped_children = [c for c in self.root_node.children if not isinstance(_matcher_of(c.node), TypeCheck)]
        typed: dict[type, list[Any]] = {}
        for child in self.root_node.children:
            check = _matcher_of(child.node)
            if isinstance(check, TypeCheck):
                typed.setdefault(check.fact_type, []).append(child)
        _streamline(self.root_node, self.touched, self.pending)
        # Every memory node reports its activations, so a restore can be limited to those.
        self.can_restore = all(type(n) in _MEMORIES for n in self._memory_nodes)
        # The children's activation methods as they are after _streamline, in experta's order.
        untyped_ids = {id(c.node) for c in untyped_children}
        self._untyped = [c.callback for c in self.root_node.children if id(c.node) in untyped_ids]
        typed_nodes = {id(c.node): t for t, children in typed.items() for c in children}
        self._by_type: dict[type, list[Callable[[Token], None]]] = {t: list(self._untyped) for t in typed}
        for child in self.root_node.children:
            if id(child.node) in typed_nodes:
                # The fact is of this node's type, so its type test passes and hands the token
                # on unchanged: hand it straight to the node's children.
                self._by_type[typed_nodes[id(child.node)]].extend(c.callback for c in child.node.children)

    def reset(self) -> None:
        """experta's reset: wipe every memory, each node once (experta visits a shared node once
        per path to it). Only the first reset of an engine, or every reset when restore_clean
        cannot be used, comes here."""
        for node in self._memory_nodes:
            node._reset()
        self.touched.clear()

    def remember_clean(self) -> None:
        """Keep the memories as they are now (just after a reset and its deffacts) as the clean
        state: a copy of those of the nodes that hold something (most hold nothing)."""
        self._clean = {}
        for node in self._memory_nodes:
            kept = tuple((name, kind(getattr(node, name))) for name, kind in _MEMORIES[type(node)])
            if any(value for _, value in kept):
                self._clean[node] = kept
        self.touched.clear()

    def restore_clean(self) -> None:
        """Put back the clean state in every memory activated since (a copy: the state is kept);
        a node that held nothing is wiped."""
        assert self._clean is not None, "remember_clean() first"
        clean = self._clean
        for node in self.touched:
            kept = clean.get(node)
            if kept is None:
                node.wipe()
                continue
            for name, value in kept:
                setattr(node, name, type(value)(value))
        self.touched.clear()
        self.pending.clear()  # their changes are gone with the rest of the decision

    def changes(
        self, adding: Iterable[Any] | None = None, deleting: Iterable[Any] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """As ReteMatcher.changes, but asks only the conflict sets that changed (same result)."""
        by_type, untyped = self._by_type, self._untyped
        for tag, facts in ((_INVALID, deleting), (_VALID, adding)):
            for fact in facts or ():
                token = tuple.__new__(LeanToken, (tag, {fact}, {}))
                for callback in by_type.get(type(fact), untyped):
                    callback(token)
        added: list[Any] = []
        removed: list[Any] = []
        pending = self.pending
        if pending:
            for csn in sorted(pending, key=_ORDER) if len(pending) > 1 else pending:
                c_added, c_removed = csn.get_activations()
                added.extend(c_added)
                removed.extend(c_removed)
            pending.clear()
        return added, removed


_ORDER = operator.attrgetter("order")


class LeanFactList(FactList):
    """experta's FactList, declaring without the calls whose result nobody reads: a fact class
    without fields has nothing to validate, a set of keys known to hold no special key
    (`__name__`) is not scanned again for one, and the log line is made only when logged."""

    last_index: int

    def __init__(self) -> None:
        super().__init__()
        self._plain_keys: set[tuple[Any, ...]] = set()  # key sets with no special key

    def _get_fact_id(self, fact: Fact) -> frozenset[Any]:  # experta's is a staticmethod: same call
        """experta's fact identity: the fact's class and its items, special keys left out."""
        keys = tuple(fact)
        if keys in self._plain_keys:
            return frozenset([fact.__class__, *fact.items()])
        fact_id = frozenset(
            [fact.__class__, *[(k, v) for k, v in fact.items() if not (isinstance(k, str) and k[:2] == k[-2:] == "__")]]
        )
        if len(fact_id) == len(keys) + 1:
            self._plain_keys.add(keys)
        return fact_id

    def declare(self, fact: Fact) -> Fact | None:
        """experta's FactList.declare."""
        if not isinstance(fact, Fact):
            raise ValueError("The fact must descend the Fact class.")
        if fact.__fields__:
            fact.validate()
        fact_id = self._get_fact_id(fact)
        counter = self.reference_counter
        if self.duplication or fact_id not in counter:
            idx = self.last_index
            dict.__setitem__(fact, "__factid__", idx)  # what Fact's __factid__ setter does
            self[idx] = fact
            self.last_index = idx + 1
            self.added.append(fact)
            counter[fact_id] = counter.get(fact_id, 0) + 1
            if _FACTS.isEnabledFor(logging.INFO):  # pragma: no cover - silenced (triage.engine._compat)
                _FACTS.info(" ==> %s: %r", fact, fact)
            return fact
        return None


_FACTS = watchers.FACTS


def _depth_key(activation: Activation) -> tuple[int, list[int]]:
    """DepthStrategy.get_key: salience, then the facts' ids, newest first."""
    return (activation.rule.salience, sorted([f["__factid__"] for f in activation.facts], reverse=True))


_KEY = operator.attrgetter("key")


class LeanDepthStrategy(DepthStrategy):
    """experta's depth strategy. Its get_key is memoised (lru_cache) on the activation, which
    costs a hash and a cache entry per activation and never hits (each activation is new and
    keyed once); bisecting on the keys directly compares what Activation.__lt__ compares."""

    def _update_agenda(self, agenda: Agenda, added: list[Activation], removed: list[Activation]) -> None:
        activations = agenda.activations
        for act in removed:
            act.key = _depth_key(act)
            idx = bisect.bisect_left(activations, act.key, key=_KEY)
            for o in (0, 1, -1):  # experta's search around idx, as it is
                try:
                    if activations[idx + o] == act:
                        del activations[idx + o]
                    else:
                        continue
                except IndexError:
                    pass
                else:
                    break
        for act in added:
            act.key = _depth_key(act)
            bisect.insort(activations, act, key=_KEY)


class LeanEngine(KnowledgeEngine):
    """KnowledgeEngine with its deffacts bound once and a run loop that formats no log lines.

    experta's reset() calls get_deffacts(), which walks inspect.getmembers(self) over every
    rule attribute, and inspects each deffact's signature, on every reset; neither changes for
    an instance, so both are done once here. The DefFacts objects are shared class attributes
    whose bound instance (`_wrapped_self`) is overwritten by whichever engine touched them
    last, so the cached entries are this instance's own bound generators instead. Only
    deffacts without parameters are supported (reset takes no arguments).
    """

    __matcher__ = LeanMatcher
    __strategy__ = LeanDepthStrategy
    agenda: Agenda
    facts: FactList

    def __init__(self) -> None:
        self._clean_facts: tuple[dict[int, Fact], int, Counter[Any]] | None = None
        self._plain_keys: set[tuple[Any, ...]] = set()  # key sets known to have no "__" accessor
        self._plain_value_types: set[type] = set()  # value types known not to be conditional elements
        super().__init__()
        self._deffacts = [
            functools.partial(d._wrapped, self) for d in sorted(self._get_by_type(DefFacts), key=lambda d: d.order)
        ]

    def get_deffacts(self) -> list[functools.partial[Any]]:
        return self._deffacts

    def reset(self) -> None:
        """experta's reset: a new agenda and fact list, wiped memories, then the deffacts' facts.

        The first reset is experta's own. What it leaves (the deffacts' facts in the fact list
        and in the network's memories) is the same after every reset, so it is kept, and later
        resets put it back instead of wiping every memory and declaring the deffacts again: in
        the memories a decision changed, and in this engine's own agenda and fact list, emptied
        and refilled rather than built anew. Not when the deffacts put anything on the agenda."""
        if self._clean_facts is not None:
            self.agenda.activations.clear()
            clean, last_index, counter = self._clean_facts
            facts = self.facts
            facts.clear()
            facts.update(clean)
            facts.last_index = last_index
            facts.reference_counter.clear()
            dict.update(facts.reference_counter, counter)
            facts.added, facts.removed = [], []
            self.matcher.restore_clean()
            self.running = False
            return
        self.agenda = Agenda()
        self.facts = LeanFactList()
        self.matcher.reset()
        self._KnowledgeEngine__declare(*chain.from_iterable(deffact() for deffact in self._deffacts))
        self.running = False
        if self.matcher.can_restore and not self.agenda.activations:
            self._clean_facts = (dict(self.facts), self.facts.last_index, Counter(self.facts.reference_counter))
            self.matcher.remember_clean()

    def _KnowledgeEngine__declare(self, *facts: Fact) -> Fact | None:  # experta calls its own __declare
        """experta's declare, with its checks done once per type of value (for conditional
        elements) and once per set of keys (for keys with double underscores), not per fact."""
        value_types = set(map(type, chain.from_iterable(map(dict.values, facts))))
        if not value_types <= self._plain_value_types:
            if any(isinstance(v, ConditionalElement) for f in facts for v in f.values()):
                raise TypeError("Declared facts cannot contain conditional elements")
            self._plain_value_types |= value_types
        for fact in facts:
            keys = tuple(fact)
            if keys not in self._plain_keys:
                if fact.has_nested_accessor():
                    raise KeyError("Cannot declare facts containing double underscores as keys.")
                self._plain_keys.add(keys)
        last_inserted = None
        for fact in facts:
            last_inserted = self.facts.declare(fact)
        if not self.running:
            added, removed = self.get_activations()
            self.strategy.update_agenda(self.agenda, added, removed)
        return last_inserted

    def run(self, steps: float = float("inf")) -> None:
        """experta's run loop: fire the agenda's next activation until it is empty."""
        self.running = True
        logged = watchers.worth("RULES", "INFO")
        while steps > 0 and self.running:
            facts = self.facts
            if facts.added or facts.removed:  # else there is nothing new to match
                added, removed = self.get_activations()
                if added or removed:
                    self.strategy.update_agenda(self.agenda, added, removed)
            activations = self.agenda.activations
            if not activations:
                break
            activation = activations.pop()  # Agenda.get_next
            steps -= 1
            if logged:  # pragma: no cover - experta's loggers are silenced (triage.engine._compat)
                watchers.RULES.info("FIRE %s", activation.rule.__name__)
            activation.rule(self, **{k: v for k, v in activation.context.items() if not k.startswith("__")})
        self.running = False
