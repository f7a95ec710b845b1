"""``brigade train-critic``: fit the sequential-advantage critic on logged episodes.

Critic regression as in ReAd (Algorithm 1): every logged step gives examples
``(s, the actions of a subset of agents) -> the discounted return from s``.
With ``subsets=prefix`` (the default) the subsets are the prefixes of the
planning order, the empty one included (which teaches ``Q(s, nobody)``, the
state value); with ``subsets=all`` every subset of the agents. Whole episodes
are held out (``holdout``) for the report: value error, and how often the
sign of the sequential advantage agrees with the expert's choice.

Outputs in ``--out``: the checkpoint (:mod:`.checkpoint`), ``report.json``
and TensorBoard curves under ``tb/``.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brigade.config import load_config
from brigade.critics.checkpoint import network_config, save_checkpoint
from brigade.critics.data import StepData, load_steps
from brigade.critics.encoders import ENCODERS, MiniLMEncoder, TextEncoder, VocabEncoder
from brigade.critics.model import HEADS, QNetwork
from brigade.critics.returns import REWARDS, discounted_returns, step_rewards
from brigade.critics.texts import TextTable
from brigade.errors import ConfigError

SUBSETS = ("prefix", "all")
BASELINES = ("value", "wait")


@dataclass
class TrainConfig:
    """Settings of ``brigade train-critic``.

    Attributes:
        data: Data folder(s), comma-separated.
        out: The checkpoint folder.
        encoder: ``vocab`` (a learned word embedding) or ``minilm`` (frozen sentence embeddings).
        embed_dim: Size of the encoded texts.
        hidden: Width of the hidden layers.
        layers: Hidden layers per head.
        ensemble: Independent heads (their spread is the reported uncertainty).
        head: ``mse`` (regression) or ``hlgauss`` (classification over bins).
        bins: Bins of the ``hlgauss`` head.
        reward: ``progress``, ``sparse`` or ``shaped`` (see :mod:`.returns`).
        gamma: Discount of the returns.
        bootstrap: Add the critic's value of the last state of truncated episodes.
        subsets: ``prefix`` (of the planning order) or ``all`` ordered subsets.
        baseline: ReAd-J's baseline: ``value`` (Q(s, nobody), a learned V(s)) or
            ``wait`` (the paper's Q(s, everyone WAITs) / gamma).
        epochs: Passes over the data.
        batch_size: Examples per step.
        lr: Adam's learning rate (its peak, with the cosine schedule).
        lr_schedule: ``cosine`` (decays to zero over the epochs, which settles the
            final weights) or ``constant``.
        weight_decay: Adam's weight decay.
        holdout: Share of episodes held out for the report.
        seed: Seed of the split, the initialisation and the batches.
        threads: torch threads (0: torch's default).
        tensorboard: Write TensorBoard curves under ``out/tb``.
    """

    data: str = "data/critic"
    out: str = "checkpoints/critic"
    encoder: str = "vocab"
    embed_dim: int = 32
    hidden: int = 256
    layers: int = 2
    ensemble: int = 3
    head: str = "mse"
    bins: int = 51
    reward: str = "progress"
    gamma: float = 0.9
    bootstrap: bool = True
    subsets: str = "prefix"
    baseline: str = "value"
    epochs: int = 12
    batch_size: int = 256
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    weight_decay: float = 1e-5
    holdout: float = 0.1
    seed: int = 0
    threads: int = 0
    tensorboard: bool = True

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad values."""
        choices = {
            "encoder": ENCODERS,
            "head": HEADS,
            "reward": REWARDS,
            "subsets": SUBSETS,
            "baseline": BASELINES,
            "lr_schedule": ("cosine", "constant"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"must be one of {allowed}, not {getattr(self, key)!r}", key=key)
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError("must be in (0, 1]", key="gamma")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError("must be in [0, 1)", key="holdout")
        for key in ("embed_dim", "hidden", "layers", "ensemble", "epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError("must be at least 1", key=key)
        if self.head == "hlgauss" and self.bins < 3:
            raise ConfigError("must be at least 3", key="bins")


@dataclass
class TrainResult:
    """What training produced."""

    out: Path
    hash: str
    report: dict[str, Any]


class Prepared:
    """Logged steps as tensors: features, text rows and the logged actions."""

    def __init__(self, data: StepData, table: TextTable, max_agents: int):
        self.data = data
        n = len(data)
        self.features = torch.from_numpy(data.features)
        self.next_features = torch.from_numpy(data.next_features)
        self.snippets = torch.from_numpy(_text_ids(table, data.snippets, max_agents))
        self.next_snippets = torch.from_numpy(_text_ids(table, data.next_snippets, max_agents))
        self.actions = torch.from_numpy(_text_ids(table, data.actions, max_agents))
        self.agent_count = np.array([len(a) for a in data.agents], dtype=np.int64)
        self.rows = n


def _text_ids(table: TextTable, texts: list[tuple[str, ...]], width: int) -> np.ndarray:
    flat = [t[k] if k < len(t) else "" for t in texts for k in range(width)]
    return table.ids(flat).reshape(len(texts), width)


def subset_masks(agents: int, max_agents: int, mode: str) -> np.ndarray:
    """The agent masks of one step's examples: prefixes of the order, or every subset."""
    if mode == "prefix":
        masks = [[1.0] * u + [0.0] * (max_agents - u) for u in range(agents + 1)]
    else:
        masks = [
            [1.0 if k in chosen else 0.0 for k in range(max_agents)]
            for size in range(agents + 1)
            for chosen in itertools.combinations(range(agents), size)
        ]
    return np.asarray(masks, dtype=np.float32)


def _examples(prep: Prepared, mode: str, max_agents: int) -> tuple[np.ndarray, np.ndarray]:
    rows, masks = [], []
    cache: dict[int, np.ndarray] = {}
    for r in range(prep.rows):
        n = int(prep.agent_count[r])
        m = cache.get(n)
        if m is None:
            m = cache[n] = subset_masks(n, max_agents, mode)
        rows.append(np.full(len(m), r, dtype=np.int64))
        masks.append(m)
    return np.concatenate(rows), np.concatenate(masks)


def _split(data: StepData, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    bounds = data.episode_bounds
    order = np.random.default_rng(seed).permutation(len(bounds))
    held = set(order[: round(holdout * len(bounds))].tolist())
    train_rows: list[int] = []
    test_rows: list[int] = []
    for k, (start, end) in enumerate(bounds):
        (test_rows if k in held else train_rows).extend(range(start, end))
    return np.asarray(train_rows, dtype=np.int64), np.asarray(test_rows, dtype=np.int64)


def _values(
    net: QNetwork,
    table: TextTable,
    features: torch.Tensor,
    snippets: torch.Tensor,
    actions: torch.Tensor,
    mask: torch.Tensor,
    batch: int = 4096,
) -> torch.Tensor:
    """Q in return units, mean over heads, shape (B,), without gradients."""
    out = []
    with torch.no_grad():
        for i in range(0, len(features), batch):
            sl = slice(i, i + batch)
            z = net(
                features[sl], table.gather(snippets[sl]), table.gather(actions[sl]), mask[sl]
            ).mean(0)
            out.append(net.returns(z))
    return torch.cat(out) if out else torch.zeros(0)


def evaluate(
    net: QNetwork, table: TextTable, prep: Prepared, returns: np.ndarray, max_agents: int
) -> dict[str, float]:
    """Held-out report: value error, and advantage signs against the expert's choices.

    ``sign_agreement``: over every agent of every step with an expert label, the
    share where the sign of the sequential advantage of the logged action is
    positive exactly when it is the expert's action. ``expert_preferred``: over
    steps where an agent's logged action differs from the expert's, the share
    where the critic scores the expert's action higher.
    """
    data = prep.data
    n = prep.rows
    if n == 0:
        return {}
    zero = torch.zeros(n, max_agents)
    value = _values(net, table, prep.features, prep.snippets, prep.actions, zero).numpy()
    full = torch.from_numpy(
        np.array([[1.0] * c + [0.0] * (max_agents - c) for c in prep.agent_count], "f4")
    )
    q_full = _values(net, table, prep.features, prep.snippets, prep.actions, full).numpy()
    spread = float(np.std(returns)) or 1.0
    report = {
        "steps": float(n),
        "value_rmse": float(np.sqrt(np.mean((value - returns) ** 2))),
        "q_rmse": float(np.sqrt(np.mean((q_full - returns) ** 2))),
        "return_std": spread,
        "value_r2": float(1 - np.mean((value - returns) ** 2) / spread**2),
        "q_r2": float(1 - np.mean((q_full - returns) ** 2) / spread**2),
    }
    agree = total = preferred = differing = 0
    for k in range(max_agents):
        rows = [r for r in range(n) if data.expert_actions[r] and k < len(data.agents[r])]
        if not rows:
            continue
        idx = torch.as_tensor(rows)
        prefix = torch.zeros(len(rows), max_agents)
        prefix[:, :k] = 1.0
        with_k = prefix.clone()
        with_k[:, k] = 1.0
        feats, snips = prep.features[idx], prep.snippets[idx]
        logged = prep.actions[idx]
        expert = logged.clone()
        expert[:, k] = torch.from_numpy(table.ids([data.expert_actions[r][k] for r in rows]))
        base = _values(net, table, feats, snips, logged, prefix)
        adv_logged = _values(net, table, feats, snips, logged, with_k) - base
        adv_expert = _values(net, table, feats, snips, expert, with_k) - base
        for j, r in enumerate(rows):
            is_expert = data.actions[r][k] == data.expert_actions[r][k]
            agree += int((adv_logged[j].item() > 0) == is_expert)
            total += 1
            if not is_expert:
                differing += 1
                preferred += int(adv_expert[j].item() > adv_logged[j].item())
    if total:
        report["sign_agreement"] = agree / total
    if differing:
        report["expert_preferred"] = preferred / differing
        report["mistakes_judged"] = float(differing)
    return report


def _make_encoder(config: TrainConfig, data: StepData) -> TextEncoder:
    if config.encoder == "minilm":
        return MiniLMEncoder(dim=config.embed_dim)
    texts: list[str] = []
    for row in range(len(data)):
        texts += data.actions[row]
        texts += data.snippets[row]
        texts += data.expert_actions[row]
        for legal in data.legal_actions[row]:
            texts += legal
    return VocabEncoder.fit(texts, dim=config.embed_dim)


def train(
    config: TrainConfig,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a critic; ``progress(epoch, epochs, metrics)`` after each epoch."""
    config.validate()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start_time = time.perf_counter()
    sources = [s.strip() for s in config.data.split(",") if s.strip()]
    data = load_steps(sources)
    max_agents = max(len(a) for a in data.agents)
    train_rows, test_rows = _split(data, config.holdout, config.seed)
    if len(train_rows) == 0:
        raise ConfigError("no episodes left to train on after the hold-out", key="holdout")
    train_data, test_data = data.subset(train_rows), data.subset(test_rows)

    encoder = _make_encoder(config, train_data)
    table = TextTable(encoder)
    train_prep = Prepared(train_data, table, max_agents)
    test_prep = Prepared(test_data, table, max_agents)
    rewards_train = step_rewards(train_data, config.reward)
    rewards_test = step_rewards(test_data, config.reward)
    returns_train = discounted_returns(train_data, rewards_train, config.gamma)
    mean, std = float(returns_train.mean()), float(returns_train.std()) or 1.0
    zs = (returns_train - mean) / std
    margin = 1.0
    value_range = (float(zs.min()) - margin, float(zs.max()) + margin)

    net = QNetwork(
        feature_dim=data.features.shape[1],
        max_agents=max_agents,
        encoder=encoder,
        hidden=config.hidden,
        layers=config.layers,
        ensemble=config.ensemble,
        head=config.head,
        bins=config.bins,
        value_range=value_range,
    )
    f_mean = train_data.features.mean(0)
    f_std = np.maximum(train_data.features.std(0), 0.05)
    net.feature_mean.copy_(torch.from_numpy(f_mean))
    net.feature_std.copy_(torch.from_numpy(f_std.astype(np.float32)))
    net.return_mean.fill_(mean)
    net.return_std.fill_(std)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rows, masks = _examples(train_prep, config.subsets, max_agents)
    steps_per_epoch = -(-len(rows) // config.batch_size)
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.epochs * steps_per_epoch)
        if config.lr_schedule == "cosine"
        else None
    )
    masks_t = torch.from_numpy(masks)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    # A new training replaces the folder's curves (TensorBoard would mix the runs).
    shutil.rmtree(out / "tb", ignore_errors=True)
    writer = _tensorboard(out / "tb") if config.tensorboard else None
    zeros_train = torch.zeros(train_prep.rows, max_agents)
    zeros_test = torch.zeros(test_prep.rows, max_agents)
    returns_test = discounted_returns(test_data, rewards_test, config.gamma)
    metrics: dict[str, float] = {}
    for epoch in range(config.epochs):
        if config.bootstrap and epoch > 0:
            net.eval()
            tail = _values(
                net,
                table,
                train_prep.next_features,
                train_prep.next_snippets,
                train_prep.actions,
                zeros_train,
            ).numpy()
            returns_train = discounted_returns(train_data, rewards_train, config.gamma, tail)
        standardised = (returns_train - mean) / std
        if config.head == "hlgauss":  # bootstrapped targets may leave the bins' support
            standardised = np.clip(standardised, *value_range)
        targets = torch.from_numpy(standardised.astype(np.float32))
        net.train()
        order = rng.permutation(len(rows))
        total = 0.0
        for i in range(0, len(order), config.batch_size):
            pick = order[i : i + config.batch_size]
            r = torch.from_numpy(rows[pick])
            raw = net.outputs(
                net.inputs(
                    train_prep.features[r],
                    table.gather(train_prep.snippets[r]),
                    table.gather(train_prep.actions[r]),
                    masks_t[pick],
                )
            )
            loss = net.loss(raw, targets[r])
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            if schedule is not None:
                schedule.step()
            total += float(loss.item()) * len(pick)
        net.eval()
        metrics = {"train_loss": total / max(len(order), 1)}
        if test_prep.rows:
            if config.bootstrap:
                tail_test = _values(
                    net,
                    table,
                    test_prep.next_features,
                    test_prep.next_snippets,
                    test_prep.actions,
                    zeros_test,
                ).numpy()
                returns_test = discounted_returns(test_data, rewards_test, config.gamma, tail_test)
            metrics.update(evaluate(net, table, test_prep, returns_test, max_agents))
        if writer is not None:
            for key, value in metrics.items():
                writer.add_scalar(key, value, epoch)
        if progress:
            progress(epoch + 1, config.epochs, metrics)
    if writer is not None:
        writer.close()

    envs_seen = sorted(set(data.env.tolist()))
    seeds = {
        env: [int(data.seed[data.env == env].min()), int(data.seed[data.env == env].max())]
        for env in envs_seen
    }
    report = {
        "held_out": {k: v for k, v in metrics.items() if k != "train_loss"},
        "train_loss": metrics.get("train_loss"),
        "episodes": len(data.episode_bounds),
        "steps": len(data),
        "train_steps": len(train_rows),
        "held_out_steps": len(test_rows),
        "examples_per_epoch": len(rows),
        "wall_s": round(time.perf_counter() - start_time, 1),
    }
    ckpt = {
        "network": network_config(net, value_range),
        "train": asdict(config),
        "envs": envs_seen,
        "data_seeds": seeds,
        "agents": sorted({a for agents in data.agents for a in agents}),
        "feature_dim": int(data.features.shape[1]),
        "gamma": config.gamma,
        "reward": config.reward,
        "baseline": config.baseline,
        "return_mean": mean,
        "return_std": std,
        "report": report,
    }
    digest = save_checkpoint(out, net, ckpt)
    (out / "report.json").write_text(json.dumps({"hash": digest, **report}, indent=2))
    return TrainResult(out, digest, report)


def _tensorboard(path: Path) -> Any:
    """A TensorBoard writer, or ``None`` when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(path))


def train_config(values: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from plain values (unknown keys name the closest one)."""
    return load_config(TrainConfig, values=values)
