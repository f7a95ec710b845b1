from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from brigade.config import list_presets, load_config
from brigade.errors import ConfigError


@dataclass
class Inner:
    max_rounds: int = 15
    threshold: float = 0.0


@dataclass
class Outer:
    name: str = "x"
    planner: Inner = field(default_factory=Inner)
    tags: list[str] = field(default_factory=list)


def test_defaults_preset_and_overrides(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    preset.write_text("name: y\nplanner:\n  max_rounds: 3\n")
    cfg = load_config(Outer, preset=preset, overrides=["--planner.threshold=0.5"])
    assert cfg == Outer("y", Inner(3, 0.5))


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(Outer, overrides=["planner.max_round=3"])
    assert "planner.max_round" in str(err.value)
    assert "did you mean 'max_rounds'" in str(err.value)
    assert "command line" in str(err.value)


def test_bad_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"planner\.max_rounds.*'many'"):
        load_config(Outer, overrides=["planner.max_rounds=many"])


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    preset = tmp_path / "bad.yaml"
    preset.write_text("name: y\nplanner: [unclosed\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_config(Outer, preset=preset)


def test_unknown_preset_lists_the_shipped_ones() -> None:
    assert "run/default" in list_presets()
    with pytest.raises(ConfigError, match="did you mean 'run/default'"):
        load_config(Outer, preset="run/defualt")


def test_override_without_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        load_config(Outer, overrides=["--name"])


def test_nested_keys_are_suggested() -> None:
    with pytest.raises(ConfigError, match="did you mean 'max_rounds'"):
        load_config(Outer, overrides=["planner.maxrounds=3"])
    with pytest.raises(ConfigError) as err:
        load_config(Outer, overrides=["planner.threshold=high"])
    assert "full_key" not in str(err.value) and "planner.threshold" in str(err.value)
