"""Channel adapters: translators between providers' formats and werkbot's core events.

Each adapter module exposes `build(settings) -> list[Adapter]`, declared as an entry point
in `pyproject.toml` (group `werkbot.adapters`); the core loads them by that name.
"""
