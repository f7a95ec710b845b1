"""The critic network: Q over (state features, the ordered actions of agents), absent agents masked.

Input, per example: the environment's feature vector (standardised with the
training data's mean and deviation) and, for each agent slot in planning
order, the encoded text snippet of that agent's state, its encoded action
times a presence bit, and the bit itself. An absent agent (not yet decided in
ReAd-S, or left out of an ordered subset) has its action masked to zero and
its bit off, so ``Q(s, nobody)`` is the state value under the data's policy:
the learned baseline of ReAd-J where a joint WAIT is not a no-op.

Heads: ``ensemble`` independent MLPs over the shared encoders (their spread
is the reported uncertainty), each a scalar regression (``mse``) or a
distribution over fixed bins trained by classification with Gaussian
histogram targets (``hlgauss``, Farebrother et al. 2024). Outputs are
standardised returns; :class:`QNetwork.returns` undoes the scaling.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from brigade.critics.encoders import TextEncoder

HEADS = ("mse", "hlgauss")


class QNetwork(nn.Module):
    """Q(s, a^{subset}) (see the module docstring)."""

    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    return_mean: torch.Tensor
    return_std: torch.Tensor
    centers: torch.Tensor

    def __init__(
        self,
        *,
        feature_dim: int,
        max_agents: int,
        encoder: TextEncoder,
        hidden: int = 256,
        layers: int = 2,
        ensemble: int = 1,
        head: str = "mse",
        bins: int = 51,
        value_range: tuple[float, float] = (-4.0, 4.0),
    ):
        super().__init__()
        self.feature_dim = feature_dim
        self.max_agents = max_agents
        self.encoder = encoder
        self.head = head
        self.bins = bins if head == "hlgauss" else 1
        width = feature_dim + max_agents * (2 * encoder.dim + 1)
        members = []
        for _ in range(ensemble):
            mods: list[nn.Module] = []
            size = width
            for _ in range(layers):
                mods += [nn.Linear(size, hidden), nn.ReLU()]
                size = hidden
            mods.append(nn.Linear(size, self.bins))
            members.append(nn.Sequential(*mods))
        self.members = nn.ModuleList(members)
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))
        self.register_buffer("return_mean", torch.zeros(()))
        self.register_buffer("return_std", torch.ones(()))
        low, high = value_range
        self.register_buffer("centers", torch.linspace(low, high, self.bins))
        self.bin_width = (high - low) / max(self.bins - 1, 1)

    @property
    def ensemble(self) -> int:
        """Number of heads."""
        return len(self.members)

    def inputs(
        self,
        features: torch.Tensor,
        snippets: torch.Tensor,
        actions: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """The MLP input: features, then per slot (snippet, masked action, bit).

        Args:
            features: (B, F) raw features.
            snippets: (B, N, ...) prepared snippet texts.
            actions: (B, N, ...) prepared action texts.
            mask: (B, N) 1 where the agent's action is given.
        """
        b, n = mask.shape
        f = (features - self.feature_mean) / self.feature_std
        s = self.encoder(snippets.reshape(b * n, *snippets.shape[2:])).reshape(b, n, -1)
        a = self.encoder(actions.reshape(b * n, *actions.shape[2:])).reshape(b, n, -1)
        m = mask.to(f.dtype).unsqueeze(-1)
        slots = torch.cat([s, a * m, m], dim=-1).reshape(b, -1)
        return torch.cat([f, slots], dim=-1)

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Each head's raw output, shape (K, B, bins)."""
        return torch.stack([member(x) for member in self.members])

    def values(self, raw: torch.Tensor) -> torch.Tensor:
        """Standardised values (K, B) from raw head outputs."""
        if self.head == "hlgauss":
            return (raw.softmax(-1) * self.centers).sum(-1)
        return raw.squeeze(-1)

    def forward(
        self,
        features: torch.Tensor,
        snippets: torch.Tensor,
        actions: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Standardised Q values, shape (K, B)."""
        return self.values(self.outputs(self.inputs(features, snippets, actions, mask)))

    def returns(self, standardised: torch.Tensor) -> torch.Tensor:
        """Values in return units."""
        return standardised * self.return_std + self.return_mean

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of every head against standardised targets (B,)."""
        if self.head == "hlgauss":
            return hl_gauss_loss(raw, target, self.centers, self.bin_width)
        return ((raw.squeeze(-1) - target.unsqueeze(0)) ** 2).mean()


def hl_gauss_loss(
    logits: torch.Tensor, target: torch.Tensor, centers: torch.Tensor, width: float
) -> torch.Tensor:
    """Cross-entropy against a Gaussian (sigma 0.75 bins) spread over the bins.

    Each target's probability mass on a bin is the Gaussian's mass between the
    bin's edges, renormalised to the support.
    """
    sigma = 0.75 * width
    edges = torch.cat([centers - width / 2, centers[-1:] + width / 2])
    cdf = 0.5 * (1 + torch.erf((edges.unsqueeze(0) - target.unsqueeze(1)) / (sigma * math.sqrt(2))))
    mass = cdf[:, 1:] - cdf[:, :-1]
    probs = mass / mass.sum(-1, keepdim=True).clamp(min=1e-8)
    log_p = logits.log_softmax(-1)
    return -(probs.unsqueeze(0) * log_p).sum(-1).mean()
