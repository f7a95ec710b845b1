"""A table of prepared texts, so batches look texts up by index instead of re-encoding them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from brigade.critics.encoders import TextEncoder


class TextTable:
    """Every text seen so far, prepared once by the encoder; row 0 is the empty text."""

    def __init__(self, encoder: TextEncoder):
        self.encoder = encoder
        self.index: dict[str, int] = {}
        self.prepared = encoder.prepare([""])
        self.index[""] = 0

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        """The rows of ``texts`` (preparing the new ones)."""
        new = [t for t in dict.fromkeys(texts) if t not in self.index]
        if new:
            start = len(self.index)
            for k, text in enumerate(new):
                self.index[text] = start + k
            self.prepared = torch.cat([self.prepared, self.encoder.prepare(new)])
        return np.fromiter((self.index[t] for t in texts), dtype=np.int64, count=len(texts))

    def gather(self, rows: torch.Tensor) -> torch.Tensor:
        """The prepared inputs of ``rows`` (any shape)."""
        return self.prepared[rows]
