"""Refactor == before: the engine reproduces, bit for bit, the states the engine
wrote before its split into rule modules."""

from __future__ import annotations

import json

from golden_scenarios import all_digests
from paths import ROOT

GOLDEN = ROOT / "tests" / "data" / "engine_v1_digests.json"


def test_every_state_of_every_scenario_equals_the_previous_engines() -> None:
    """54 scenarios (every option, 1/7/40 envs, ignored bad inputs, recycles, samples,
    loads into fresh engines), 40 updates each: each state's digest is the one the
    previous engine wrote (tests/data/engine_v1_digests.json, from commit f469bdd)."""
    expected = json.loads(GOLDEN.read_text())
    actual = all_digests()
    assert actual.keys() == expected.keys()
    for scenario, digests in expected.items():
        first = next(
            (i for i, (a, b) in enumerate(zip(actual[scenario], digests, strict=True)) if a != b),
            None,
        )
        assert first is None, f"{scenario}: the state after update {first} differs"
