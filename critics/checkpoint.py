"""Critic checkpoints: weights as safetensors, everything else as JSON, and a hash.

A checkpoint is a folder (or the two files' common stem)::

    CKPT/critic.safetensors   the network's tensors
    CKPT/critic.json          settings, encoder vocabulary, normalisation,
                              training data summary, held-out report, hash

The hash (12 hex digits of SHA-256 over the tensors and the settings) names
the critic in every episode record that used it. safetensors, not pickle:
loading a checkpoint never runs code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from brigade.critics.encoders import build_encoder
from brigade.critics.model import QNetwork
from brigade.errors import BrigadeError

CHECKPOINT_VERSION = 1
WEIGHTS = "critic.safetensors"
CONFIG = "critic.json"


class CheckpointError(BrigadeError):
    """A critic checkpoint that cannot be loaded (the message says why)."""


def network_config(net: QNetwork, value_range: tuple[float, float]) -> dict[str, Any]:
    """What rebuilds ``net``'s architecture."""
    linears = [m for m in net.members[0].modules() if isinstance(m, torch.nn.Linear)]
    hidden = linears[0].out_features
    layers = len(linears) - 1
    return {
        "feature_dim": net.feature_dim,
        "max_agents": net.max_agents,
        "hidden": hidden,
        "layers": layers,
        "ensemble": net.ensemble,
        "head": net.head,
        "bins": net.bins,
        "value_range": list(value_range),
        "encoder": net.encoder.config(),
    }


def _hash(weights: bytes, config: dict[str, Any]) -> str:
    digest = hashlib.sha256(weights)
    digest.update(json.dumps(config, sort_keys=True).encode())
    return digest.hexdigest()[:12]


def save_checkpoint(path: Path, net: QNetwork, config: dict[str, Any]) -> str:
    """Save ``net`` and ``config`` (with ``network``) in folder ``path``; return the hash."""
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().clone() for k, v in net.state_dict().items()}
    save_file(tensors, str(path / WEIGHTS))
    body = {k: v for k, v in config.items() if k != "hash"}
    body["checkpoint_version"] = CHECKPOINT_VERSION
    digest = _hash((path / WEIGHTS).read_bytes(), body)
    (path / CONFIG).write_text(json.dumps({**body, "hash": digest}, indent=2, sort_keys=True))
    return digest


def load_checkpoint(path: Path | str) -> tuple[QNetwork, dict[str, Any]]:
    """Load a checkpoint folder; check its hash.

    Raises:
        CheckpointError: Missing files, another checkpoint version, or a hash
            that does not match the files (they were changed or mixed up).
    """
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    weights, meta = folder / WEIGHTS, folder / CONFIG
    if not weights.exists() or not meta.exists():
        raise CheckpointError(f"no critic checkpoint at {folder} (expected {WEIGHTS} and {CONFIG})")
    try:
        config = json.loads(meta.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{meta} is not valid JSON: {exc}") from None
    if config.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{meta} is of checkpoint version {config.get('checkpoint_version')}; "
            f"this brigade reads version {CHECKPOINT_VERSION}"
        )
    body = {k: v for k, v in config.items() if k != "hash"}
    if _hash(weights.read_bytes(), body) != config.get("hash"):
        raise CheckpointError(f"the files of {folder} do not match its recorded hash")
    spec = config["network"]
    net = QNetwork(
        feature_dim=spec["feature_dim"],
        max_agents=spec["max_agents"],
        encoder=build_encoder(spec["encoder"]),
        hidden=spec["hidden"],
        layers=spec["layers"],
        ensemble=spec["ensemble"],
        head=spec["head"],
        bins=spec["bins"],
        value_range=tuple(spec["value_range"]),
    )
    try:
        net.load_state_dict(load_file(str(weights)))
    except RuntimeError as exc:
        raise CheckpointError(f"{weights} does not fit its settings: {exc}") from None
    net.eval()
    return net, config
