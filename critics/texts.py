"""A table of prepared texts, so batches look texts up by index instead of re-encoding them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from brigade.critics.encoders import TextEncoder


class TextTable:
    """Every text seen so far, prepared once by the encoder; row 0 is the empty text.

    The rows live in a buffer that doubles when full, so a table that keeps
    growing (a critic scoring new states for hours) costs amortised constant
    time per new text instead of a copy of the whole table each time.
    """

    def __init__(self, encoder: TextEncoder):
        self.encoder = encoder
        self.index: dict[str, int] = {"": 0}
        first = encoder.prepare([""])
        self._buffer = first.new_zeros((64, *first.shape[1:]))
        self._buffer[:1] = first
        self._size = 1

    @property
    def prepared(self) -> torch.Tensor:
        """The prepared rows (a view, one per text)."""
        return self._buffer[: self._size]

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        """The rows of ``texts`` (preparing the new ones)."""
        new = [t for t in dict.fromkeys(texts) if t not in self.index]
        if new:
            rows = self.encoder.prepare(new)
            need = self._size + len(new)
            if need > len(self._buffer):
                grown = self._buffer.new_zeros((max(need, 2 * len(self._buffer)), *rows.shape[1:]))
                grown[: self._size] = self._buffer[: self._size]
                self._buffer = grown
            self._buffer[self._size : need] = rows
            for k, text in enumerate(new):
                self.index[text] = self._size + k
            self._size = need
        return np.fromiter((self.index[t] for t in texts), dtype=np.int64, count=len(texts))

    def gather(self, rows: torch.Tensor) -> torch.Tensor:
        """The prepared inputs of ``rows`` (any shape)."""
        return self.prepared[rows]
