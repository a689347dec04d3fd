"""Consent: the append-only ledger, the gate, and the dialogues around them."""
