"""Microneedling side-effect triage: an experta rule engine over a knowledge base kept as data.

from triage import assess
answer = assess(["redness:mild"], hours=6)
answer.disposition, answer.to_dict()

The package is in rooms, one per reader (docs/architecture.md has the map):

- `triage.knowledge`: reading and checking the knowledge base (`knowledge/*.toml`) and its translations.
- `triage.engine`: the canonical report, the experta rules generated from the knowledge base, caches.
- `triage.answer`: the answer built from the engine's findings: wording, one message, languages, JSON shape.
- `triage.review`: for the clinical lead: what a knowledge edit changes, releasing it, the public cases.
- `triage.exports`: FHIR and CDS Hooks.
- `triage.cli`: the `triage` command.
- `triage.vocabulary`: the words every room shares (dispositions, severities, phases, kinds).
"""

from triage.answer.assess import Assessor, assess, default_assessor
from triage.answer.model import Assessment, Finding
from triage.engine.report import InvalidReport, Problem, Report
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.loader import load_knowledge
from triage.knowledge.schema import KnowledgeError
from triage.vocabulary import Disposition

__all__ = [
    "Assessment",
    "Assessor",
    "Disposition",
    "Finding",
    "InvalidReport",
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "Report",
    "assess",
    "default_assessor",
    "load_knowledge",
]
