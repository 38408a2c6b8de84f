"""The ADR config accepts IsaacGymEnvs' DeXtreme block and names every invalid field."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from omegaconf import OmegaConf

from adr_domain import ADRConfig, ConfigError, DeltaStyle, ParamType, QueuePolicy
from builders import dextreme_adr_cfg, small_cfg


def test_the_shipped_dextreme_block_validates_with_all_27_parameters() -> None:
    """cfg/adr/dextreme.yaml is IsaacGymEnvs' task.adr block and validates as it is."""
    cfg = ADRConfig.from_mapping(dextreme_adr_cfg())
    assert len(cfg.params) == 27
    assert sum(p.range_path is not None for p in cfg.params.values()) == 13
    assert cfg.params["action_latency"].limits == (0.0, 60.0)
    assert cfg.adr_queue_threshold_length == 256
    assert cfg.queue_policy is QueuePolicy.SLIDING
    assert cfg.adr_load_from_checkpoint is False


def test_an_omegaconf_node_validates_like_a_plain_dict() -> None:
    """Hydra hands the block over as a DictConfig with ListConfig ranges."""
    node = OmegaConf.create(dextreme_adr_cfg())
    assert ADRConfig.from_mapping(node) == ADRConfig.from_mapping(dextreme_adr_cfg())


def test_defaults_are_those_of_the_reference_block() -> None:
    """Missing optional keys take sane defaults; missing limits mean unbounded."""
    cfg = ADRConfig.from_mapping(
        {
            "adr_objective_threshold_low": 1,
            "adr_objective_threshold_high": 2,
            "params": {"x": {"init_range": [0, 1], "delta": 0.1}},
        }
    )
    param = cfg.params["x"]
    assert (param.delta_style, param.type, param.limits) == (
        DeltaStyle.ADDITIVE,
        ParamType.UNIFORM,
        (None, None),
    )
    assert cfg.worker_adr_boundary_fraction == 0.4
    assert cfg.validate_inputs is True


def test_the_config_is_frozen() -> None:
    """Config is not state: it cannot be mutated after validation."""
    cfg = ADRConfig.from_mapping(small_cfg())
    with pytest.raises(ValueError, match="frozen"):
        cfg.adr_queue_threshold_length = 3  # type: ignore[misc]


def _with_param(name: str, **fields: Any) -> dict[str, Any]:
    cfg = small_cfg()
    cfg["params"][name] = {**cfg["params"][name], **fields}
    return cfg


@pytest.mark.parametrize(
    ("cfg", "where", "problem"),
    [
        (_with_param("mass", init_range=[1.5, 1.0]), "params.mass.init_range", "above its upper"),
        (_with_param("mass", limits=[2.0, 1.0]), "params.mass.limits", "above its upper"),
        (_with_param("mass", init_range=[0.05, 1.0]), "params.mass", "below limits lower bound"),
        (_with_param("mass", init_range=[0.5, 3.5]), "params.mass", "above limits upper bound"),
        (_with_param("mass", delta=-0.1), "params.mass.delta", "finite number >= 0"),
        (_with_param("mass", delta=math.nan), "params.mass.delta", "finite number >= 0"),
        (_with_param("gain", delta=1.0), "params.gain", "delta must be > 1"),
        (_with_param("gain", delta=0.5), "params.gain", "delta must be > 1"),
        (
            _with_param("gain", init_range=[0.0, 2.0], limits=[None, None]),
            "params.gain",
            "positive",
        ),
        (_with_param("mass", delta_style="exponential"), "params.mass.delta_style", "additive"),
        (_with_param("mass", type="gaussian"), "params.mass.type", "uniform"),
        (_with_param("latency", init_range=[0.5, 1]), "params.latency", "integers"),
        (_with_param("latency", limits=[0, 6.5]), "params.latency", "limits must be integers"),
        (_with_param("latency", delta=0.5), "params.latency", "integer delta"),
        (_with_param("mass", range_path="a..range"), "params.mass.range_path", "dotted path"),
        (_with_param("mass", colour="red"), "params.mass.colour", "unknown key"),
        (small_cfg(adr_queue_threshold_length=0), "adr_queue_threshold_length", "greater than 0"),
        (small_cfg(worker_adr_boundary_fraction=1.5), "worker_adr_boundary_fraction", "less than"),
        (small_cfg(worker_adr_boundary_fraction=-0.1), "worker_adr_boundary_fraction", "greater"),
        (small_cfg(adr_rollout_perf_alpha=2), "adr_rollout_perf_alpha", "less than or equal"),
        (small_cfg(adr_objective_threshold_low=30), "", "above adr_objective_threshold_high"),
        (small_cfg(queue_policy="lifo"), "queue_policy", "sliding"),
        (small_cfg(adr_queue_length=3), "adr_queue_length", "unknown key"),
        (small_cfg(params={}), "params", "at least one"),
    ],
)
def test_an_invalid_config_is_a_config_error_naming_the_field(
    cfg: dict[str, Any], where: str, problem: str
) -> None:
    """Every invalid field is reported as 'adr.<path>: <problem>'."""
    with pytest.raises(ConfigError) as info:
        ADRConfig.from_mapping(cfg)
    message = str(info.value)
    location = f"adr.{where}:" if where else "adr:"
    assert f"\n  {location} " in message
    assert problem in message
    assert len(message) < 400


def test_several_problems_are_reported_together() -> None:
    """All invalid fields appear in one error, one line each."""
    cfg = copy.deepcopy(small_cfg(adr_queue_threshold_length=-1))
    cfg["params"]["mass"]["delta"] = -1
    with pytest.raises(ConfigError) as info:
        ADRConfig.from_mapping(cfg)
    lines = str(info.value).splitlines()
    assert any("adr.adr_queue_threshold_length" in line for line in lines)
    assert any("adr.params.mass.delta" in line for line in lines)


def test_a_missing_threshold_is_named() -> None:
    """Required keys without a default are reported as missing."""
    cfg = small_cfg()
    del cfg["adr_objective_threshold_high"]
    with pytest.raises(ConfigError, match="adr.adr_objective_threshold_high: Field required"):
        ADRConfig.from_mapping(cfg)


def test_a_config_that_is_not_a_mapping_is_rejected() -> None:
    """A list where the adr block belongs is a clear error."""
    with pytest.raises(ConfigError, match="adr: expected a mapping, got list"):
        ADRConfig.from_mapping([1, 2])  # type: ignore[arg-type]
