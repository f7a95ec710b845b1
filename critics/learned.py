"""The learned critic: ReAd-S and ReAd-J scores from a trained :class:`QNetwork`.

- ReAd-S: ``A^i = Q(s, a^1..a^{i-1}, a^i) - Q(s, a^1..a^{i-1})``.
- ReAd-J with the ``value`` baseline (the default): ``A = Q(s, a) - Q(s, nobody)``,
  the learned state value; this is the sum of the sequential advantages, and it
  stays honest where a joint WAIT is not a no-op (pots keep cooking).
- ReAd-J with the ``wait`` baseline (the paper's): ``A = Q(s, a) - Q(s, WAIT-all) / gamma``.

Scores are in return units (with the default ``progress`` reward: points of
task progress). Every call is one forward pass over all candidates and the
baseline, and the ensemble's spread is reported as the uncertainty.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brigade.action import Action
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.critics.checkpoint import load_checkpoint
from brigade.critics.model import QNetwork
from brigade.critics.texts import TextTable
from brigade.errors import ConfigError
from brigade.plan import JointPlan

#: Intra-op threads of every critic forward pass. Pinned, so that a critic scores
#: bit for bit alike in any process (a runner, a critic node on another host)
#: whatever torch's default there; the batches are small enough for one thread.
INFERENCE_THREADS = 1
# torch's thread count is process-wide: passes of different critics take turns.
_THREADS_LOCK = threading.Lock()


class LearnedCritic(AdvantageCritic):
    """Advantages from a trained critic network (see the module docstring)."""

    kind = "learned"

    def __init__(self, net: QNetwork, config: dict[str, Any], *, path: str = ""):
        self.net = net.eval()
        self.config = config
        self.path = path
        self.hash = str(config.get("hash", ""))
        self.baseline = str(config.get("baseline", "value"))
        self.gamma = float(config.get("gamma", 1.0))
        self.table = TextTable(net.encoder)
        # Episodes run in threads share one critic; its text table grows as it scores.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path) -> LearnedCritic:
        """Load a checkpoint folder."""
        net, config = load_checkpoint(path)
        return cls(net, config, path=str(path))

    def describe(self) -> dict[str, Any]:
        """Kind, hash, baseline and where it came from."""
        return {
            "kind": self.kind,
            "hash": self.hash,
            "baseline": self.baseline,
            "path": self.path,
            "envs": self.config.get("envs", []),
        }

    def check(self, state: CriticState) -> None:
        """Raise :class:`ConfigError` when the state does not fit this critic."""
        if state.features.shape != (self.net.feature_dim,):
            raise ConfigError(
                f"the critic {self.hash} takes {self.net.feature_dim} features, this "
                f"environment gives {state.features.shape[0]}: use a critic trained on it",
                key="critic",
            )
        if len(state.agents) > self.net.max_agents:
            raise ConfigError(
                f"the critic {self.hash} knows {self.net.max_agents} agents, "
                f"this task has {len(state.agents)}",
                key="critic",
            )

    def _q(self, state: CriticState, rows: list[dict[str, str]]) -> torch.Tensor:
        """Q in return units for joint (partial) actions ``rows``, per head: (K, len(rows))."""
        self.check(state)
        with self._lock, _THREADS_LOCK:
            saved = torch.get_num_threads()
            torch.set_num_threads(INFERENCE_THREADS)
            try:
                return self._q_locked(state, rows)
            finally:
                torch.set_num_threads(saved)

    def _q_locked(self, state: CriticState, rows: list[dict[str, str]]) -> torch.Tensor:
        n = self.net.max_agents
        agents = state.agents
        snippets = [state.snippets[k] if k < len(agents) else "" for k in range(n)]
        snip_ids = torch.from_numpy(self.table.ids(snippets))
        texts = [
            row.get(agents[k], "") if k < len(agents) else "" for row in rows for k in range(n)
        ]
        act_ids = torch.from_numpy(self.table.ids(texts)).reshape(len(rows), n)
        mask = torch.tensor(
            [
                [1.0 if k < len(agents) and agents[k] in row else 0.0 for k in range(n)]
                for row in rows
            ]
        )
        features = torch.from_numpy(np.asarray(state.features, dtype=np.float32))
        snips = self.table.gather(snip_ids)
        with torch.no_grad():
            z = self.net(
                features.expand(len(rows), -1),
                snips.unsqueeze(0).expand(len(rows), *snips.shape),
                self.table.gather(act_ids),
                mask,
            )
            return self.net.returns(z)

    @staticmethod
    def _scores(q: torch.Tensor, base: torch.Tensor, info: dict[str, Any]) -> Scores:
        adv = (q - base.unsqueeze(-1)).numpy()  # (K, C)
        spread = adv.std(0) if adv.shape[0] > 1 else None
        return Scores(adv.mean(0), spread, info)

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """``Q(s, before + c) - Q(s, before)`` for each candidate ``c``."""
        prefix = {a.agent: a.command for a in before}
        rows = [prefix] + [{**prefix, c.agent: c.command} for c in candidates]
        q = self._q(state, rows)
        info = {"baseline": "prefix", "q_before": float(q[:, 0].mean())}
        return self._scores(q[:, 1:], q[:, 0], info)

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """``Q(s, a)`` minus the baseline (see the module docstring)."""
        rows = [{a.agent: a.command for a in plan.actions} for plan in plans]
        if self.baseline == "wait":
            rows.append({agent: "WAIT" for agent in state.agents})
            q = self._q(state, rows)
            base = q[:, -1] / self.gamma
        else:
            rows.append({})
            q = self._q(state, rows)
            base = q[:, -1]
        return self._scores(
            q[:, :-1], base, {"baseline": self.baseline, "q_baseline": float(base.mean())}
        )
