"""Fixtures of the hostile-web suite (the machinery lives in harness.py)."""

from __future__ import annotations

from .harness import fault_web, module_seeded, seeded, seeded_template

__all__ = ["fault_web", "module_seeded", "seeded", "seeded_template"]
