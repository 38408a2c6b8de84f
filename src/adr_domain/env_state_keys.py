"""The one home of the state-entry names every layer shares.

An adapter's env state (what rl_games or a manager-based runner saves beside
the policy) is a dict of entries; these are the entries ADR itself owns. Task
levels add their own entries next to them under names of their choice.
"""

from __future__ import annotations

__all__ = ["ENGINE_STATE_KEY", "REFERENCE_PARAMS_KEY", "SCHEMA_VERSION_KEY"]

ENGINE_STATE_KEY = "adr"
"""The complete :class:`~adr_domain.EngineState` of the ADR engine."""

REFERENCE_PARAMS_KEY = "adr_params"
"""IsaacGymEnvs-style ranges, ``{name: {"range": [lo, hi], "next_limits": [lo, hi],
...config entries}}``: what IsaacGymEnvs' own checkpoints hold, and what sim2real-adr
writes beside :data:`ENGINE_STATE_KEY` for tools that read it."""

SCHEMA_VERSION_KEY = "schema_version"
"""The version entry of every versioned state dict."""
