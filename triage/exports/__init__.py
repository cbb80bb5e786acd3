"""Exports for other systems: FHIR R4 bundles of a record, CDS Hooks cards, the clinic as an Organization.

Pure data in, JSON-ready dicts out: no Flask, no database.
"""
