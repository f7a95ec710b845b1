"""Typed configuration: dataclasses, YAML presets and dotted overrides.

A config is a dataclass. It is filled, in order, from its defaults, a YAML
preset (a shipped name under ``configs/`` or a path), and dotted command-line
overrides such as ``planner.max_rounds=10``. OmegaConf's structured configs do
the merging and type checking; this module turns their errors into
:class:`~brigade.errors.ConfigError` messages that name the key, the source,
and suggest the closest valid key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from brigade.errors import ConfigError, did_you_mean

C = TypeVar("C")


def _valid_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key of a config dataclass, nested dataclasses included."""
    import typing

    hints = typing.get_type_hints(cls)
    keys = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        keys.append(key)
        ftype = hints.get(f.name)
        if isinstance(ftype, type) and dataclasses.is_dataclass(ftype):
            keys.extend(_valid_keys(ftype, key + "."))
    return keys


def _dataclass_type_of(cls: type, dotted: str) -> type | None:
    """Return the dataclass that holds the last part of ``dotted``, if any."""
    import typing

    current: Any = cls
    parts = dotted.split(".")
    for part in parts[:-1]:
        hints = typing.get_type_hints(current)
        nxt = hints.get(part)
        if not (isinstance(nxt, type) and dataclasses.is_dataclass(nxt)):
            return None
        current = nxt
    return current if isinstance(current, type) and dataclasses.is_dataclass(current) else None


def _explain(exc: OmegaConfBaseException, cls: type, source: str) -> ConfigError:
    key = getattr(exc, "full_key", None) or None
    # OmegaConf appends "full_key: ... object_type=..." lines; the first line says it all.
    msg = (getattr(exc, "msg", None) or str(exc)).splitlines()[0]
    if isinstance(exc, ConfigKeyError) and key:
        valid = _valid_keys(cls)
        owner = _dataclass_type_of(cls, key)
        siblings = [f.name for f in dataclasses.fields(owner)] if owner else valid
        leaf = key.split(".")[-1]
        hint = did_you_mean(leaf, siblings) or did_you_mean(key, valid)
        return ConfigError(
            f"unknown key{hint}; valid keys here: {', '.join(siblings)}", key=key, source=source
        )
    if isinstance(exc, ValidationError):
        return ConfigError(f"bad value: {msg}", key=key, source=source)
    return ConfigError(msg, key=key, source=source)


def preset_path(name: str) -> Path:
    """Resolve a shipped preset name (``run/default``) or a path to a YAML file.

    Raises:
        ConfigError: Neither a file nor a shipped preset of that name exists.
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    shipped = resources.files("brigade.configs")
    candidate = shipped.joinpath(name if name.endswith(".yaml") else f"{name}.yaml")
    if candidate.is_file():
        return Path(str(candidate))
    if path.exists():
        return path
    available = list_presets()
    raise ConfigError(
        f"no config file or shipped preset {name!r}{did_you_mean(name, available)}; "
        f"shipped presets: {', '.join(available)}"
    )


def list_presets() -> list[str]:
    """Names of the YAML presets shipped in ``configs/``."""
    root = Path(str(resources.files("brigade.configs")))
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {exc}", source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("a config file must hold a mapping of keys", source=str(path))
    return data


def load_config(
    cls: type[C],
    preset: str | Path | None = None,
    overrides: Sequence[str] = (),
    values: dict[str, Any] | None = None,
) -> C:
    """Build a config dataclass from defaults, a preset and dotted overrides.

    Args:
        cls: The config dataclass.
        preset: A shipped preset name or a YAML path, or ``None``.
        overrides: ``key=value`` or ``--key=value`` strings, applied last.
        values: A mapping merged after the preset and before the overrides.

    Raises:
        ConfigError: An unknown key or a bad value; the error names the key and
            its source and suggests the closest valid key.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    base: DictConfig = OmegaConf.structured(cls)
    layers: list[tuple[str, Any]] = []
    if preset is not None:
        path = preset_path(str(preset))
        layers.append((str(path), OmegaConf.create(_read_yaml(path))))
    if values:
        layers.append(("arguments", OmegaConf.create(values)))
    if overrides:
        dotlist = []
        for item in overrides:
            text = item[2:] if item.startswith("--") else item
            if "=" not in text:
                raise ConfigError(
                    f"override {item!r} must look like key=value", source="command line"
                )
            dotlist.append(text)
        try:
            layers.append(("command line", OmegaConf.from_dotlist(dotlist)))
        except OmegaConfBaseException as exc:
            raise ConfigError(str(exc), source="command line") from None
    merged = base
    for source, layer in layers:
        try:
            merged = OmegaConf.merge(merged, layer)  # type: ignore[assignment]
        except OmegaConfBaseException as exc:
            raise _explain(exc, cls, source) from None
    try:
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise _explain(exc, cls, "config") from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj  # type: ignore[return-value]


def with_overrides(cls: type[C], config: C | None, overrides: dict[str, Any]) -> C:
    """``config`` (or ``cls``'s defaults) with keyword overrides, checked like :func:`load_config`.

    Raises:
        ConfigError: An unknown key or a bad value, named.
    """
    if not overrides:
        return config if config is not None else cls()
    base = dataclasses.asdict(config) if config is not None else {}  # type: ignore[call-overload]
    return load_config(cls, values={**base, **overrides})
