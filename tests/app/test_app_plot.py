"""adr-plot's figure: a panel per parameter range and one for NPD, every axis labeled."""

from __future__ import annotations

from pathlib import Path

import pytest

from adr_app.cli import plot
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


def _write_adr_scalars(directory: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(directory))
    for step, upper in ((0, 1.0), (1, 1.2)):
        writer.add_scalar("adr/params/pole_mass/lower", 1.0, step)
        writer.add_scalar("adr/params/pole_mass/upper", upper, step)
    writer.close()


@pytest.mark.parametrize(("layout", "x_label"), [("summaries", "frames"), ("", "iteration")])
def test_the_x_axis_names_the_trainer_s_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, x_label: str
) -> None:
    """rl_games logs per frame (runs/<exp>/summaries/), rsl_rl per iteration (its run dir)."""
    _write_adr_scalars(tmp_path / layout)
    drawn: list[str] = []
    monkeypatch.setattr(plot, "render", lambda *args: drawn.append(args[4]) or args[2])
    assert plot.main([str(tmp_path)]) == 0
    assert drawn == [x_label]
