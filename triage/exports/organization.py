"""The organisation an answer is given for, as the exports name it (FHIR Organization, CDS card).

The engine decides without it; a deployment (the web app's clinic profile) passes one to the
exports so a record or card says which clinic to contact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Organization:
    name: str
    phone: str
    out_of_hours: str  # a phone number or a sentence
    out_of_hours_is_phone: bool
    country: str  # ISO 3166-1 alpha-2

    def contact_line(self) -> str:
        """'Clínica X, +34 ...; out of hours: ...' for a note or a card."""
        return f"{self.name}, {self.phone}; out of hours: {self.out_of_hours}"
