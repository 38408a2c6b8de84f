"""A task module for a machine with Isaac Gym: it subclasses the real ``adr_isaac.ADRVecTask``.

Importing it without Isaac Gym raises the adapter's ImportError, which
``adr-train`` reports as a config error naming what to install.
"""

from __future__ import annotations

from adr_isaac import ADRVecTask


class AllegroHandADR(ADRVecTask):
    """A task ported to the adapter (never constructed in the tests)."""
