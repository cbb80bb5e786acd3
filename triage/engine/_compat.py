"""Import experta on Python >= 3.10 and keep it quiet.

experta 1.9.4 (its only release) uses `collections.Mapping` and friends, removed in 3.10;
alias them to `collections.abc` before it is imported. experta also calls
`logging.basicConfig()` at import and logs every declared fact at INFO: symptoms are
health data, so its handlers are removed and its loggers silenced.
"""

import collections
import collections.abc
import logging

for _name in ("Callable", "Hashable", "Iterable", "Mapping", "MutableMapping", "Sequence", "Set"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

_root = logging.getLogger()
_before = list(_root.handlers)

import experta  # noqa: E402  (must follow the aliases above)
from experta import watchers  # noqa: E402

for _handler in list(_root.handlers):
    if _handler not in _before:
        _root.removeHandler(_handler)

_silent = logging.getLogger("experta")
_silent.setLevel(logging.CRITICAL + 1)
_silent.propagate = False
_silent.addHandler(logging.NullHandler())
for _watcher in watchers.ALL:
    _logger = getattr(watchers, _watcher)
    _logger.setLevel(logging.CRITICAL + 1)
    _logger.propagate = False

__all__ = ["experta"]
