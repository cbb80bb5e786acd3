"""Microneedling side-effect triage: an experta rule engine over a knowledge base kept as data.

from triage import assess
answer = assess(["redness:mild"], hours=6)
answer.disposition, answer.to_dict()
"""

from triage.assess import Assessor, assess, default_assessor
from triage.knowledge import KnowledgeBase, KnowledgeError, load_knowledge
from triage.model import Assessment, Disposition, Finding, Report
from triage.report import InvalidReport, Problem

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
