"""Loading the overcooked-ai reference traces (shared by the parity tests)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from brigade.envs.kitchen import KitchenMDP

REPO = Path(__file__).resolve().parents[3]
TRACES = Path(__file__).resolve().parent / "traces"


def trace_names() -> list[str]:
    """Names of the recorded traces (one per layout)."""
    return sorted(p.name[: -len(".json.gz")] for p in TRACES.glob("*.json.gz"))


def load_trace(name: str) -> dict[str, Any]:
    """One trace file, parsed."""
    with gzip.open(TRACES / f"{name}.json.gz", "rt") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def trace_mdp(trace: dict[str, Any]) -> KitchenMDP:
    """The MDP a trace was recorded on."""
    return KitchenMDP.from_layout_file(REPO / trace["layout_file"], **trace["params_override"])


def normalise(state_dict: dict[str, Any]) -> dict[str, Any]:
    """A state dict with tuples as lists and objects in cell order (that order means nothing)."""
    d = json.loads(json.dumps(state_dict))
    d["objects"] = sorted(d["objects"], key=lambda o: (o["position"][1], o["position"][0]))
    return d  # type: ignore[no-any-return]


def load_lossless(name: str) -> dict[str, np.ndarray] | None:
    """The recorded lossless encodings of a trace, if it has them."""
    path = TRACES / f"{name}.lossless.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        return {k: data[k] for k in data.files}
