"""adr-plot's figure: a panel per parameter range and one for NPD, every axis labeled."""

from __future__ import annotations

from adr_app.cli.plot import figure


def test_every_panel_has_labeled_axes() -> None:
    """x is frames on every panel; y names what it shows (the range, or nats per dimension)."""
    params = {
        "object_mass": {"lower": [(0, 0.9), (4096, 0.85)], "upper": [(0, 1.1), (4096, 1.15)]},
        "damping": {"lower": [(0, 0.5), (4096, 0.5)], "upper": [(0, 2.0), (4096, 2.1)]},
    }
    fig = figure(params, [(0, -3.7), (4096, -3.5)])
    shown = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in shown] == ["damping", "object_mass", "NPD"]
    assert all(ax.get_xlabel() == "frames" for ax in shown)
    assert [ax.get_ylabel() for ax in shown] == [
        "range (lower, upper)",
        "range (lower, upper)",
        "nats per dimension",
    ]
