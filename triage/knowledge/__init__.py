"""The knowledge base: reading `knowledge/*.toml`, checking every entry, its digest and its translations.

For the knowledge engineer. `load_knowledge()` gives one immutable `KnowledgeBase`; a malformed
file fails here, naming file, entry, line and problem. Layers: `files` (which files) → `schema`
(each entry's model) → `base` (the loaded whole) → `digest`, `translation` → `loader`.
`conditions` says what each rule means as conditions on a report (the symptoms, factors,
severities, phases and hours it reads): the one reading the engine, its caches and the
review tools share.
"""

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.files import default_dir
from triage.knowledge.loader import load_knowledge
from triage.knowledge.schema import KnowledgeError

__all__ = ["KnowledgeBase", "KnowledgeError", "default_dir", "load_knowledge"]
