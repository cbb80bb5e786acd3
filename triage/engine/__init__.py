"""Deciding: the canonical report, the experta rules generated from the knowledge base, and the speed-ups.

For whoever changes how a rule is run. `report` parses input into a `Report`; what each rule
depends on is read once in `triage.knowledge.conditions` (by the generator, the phase cache and
the change report); `rules` generates and runs the experta engine; `rete` is experta's matcher
made lean; `phase_cache` and `cache` keep conclusions already reached. Nothing here words an
answer (see `triage.answer`).
"""
