"""A local chat backend: a causal language model from weights on disk, run with ``transformers``.

For users who have a model folder (``config.json``, the weights and the tokenizer
files, as written by ``save_pretrained``) and no server. Nothing is downloaded:
the folder is loaded with ``local_files_only=True``.

How a reply is made, so that it depends only on the request:

- The messages are formatted with the tokenizer's chat template, or with the one
  given to the backend; a tokenizer without a template gets the plain template of
  :func:`plain_prompt`.
- Decoding is a short loop written out here (one forward step per token, with the
  model's key/value cache): ``temperature == 0`` takes the most likely token;
  otherwise the token is drawn from the softmax at that temperature, restricted
  to the nucleus of mass ``top_p``, with a ``torch.Generator`` of its own seeded
  by the request's seed (or, without one, by the request's hash). The global
  random state of torch is never read nor changed, so two requests that are the
  same give the same reply, whatever else runs in the process.
- Decoding stops at the model's end-of-sequence token, after ``max_tokens``
  tokens, or as soon as the text contains a stop sequence; the reply is cut
  before the first stop sequence (which is not part of the reply).
- Usage is counted with the tokenizer (``source="tokenizer"``): ``tokens_in`` is
  the length of the prompt the model saw (after truncation), ``tokens_out`` the
  number of tokens it generated (a final end-of-sequence token and the tokens
  of a stop sequence included, as they cost a step each).
- A prompt longer than the context is truncated from the left with a warning
  (see :meth:`TransformersChat.prompt_tokens`).

``torch`` and ``transformers`` are imported when a backend is built, never when
this module is imported, so ``brigade.agents`` stays light without the ``local``
extra.
"""

from __future__ import annotations

import inspect
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brigade.chat import ChatModel, ChatRequest, Completion, Message, SamplingParams, Usage
from brigade.errors import BrigadeError, InputError

#: Role markers of the plain template (used when the tokenizer has no chat template).
PLAIN_ROLE_MARKERS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}

#: dtype names accepted by :class:`TransformersChat` (``auto``: the one the weights were saved in).
DTYPES = ("auto", "float32", "float16", "bfloat16")

# Config fields where models record how many positions they can attend to.
_CONTEXT_FIELDS = ("max_position_embeddings", "n_positions", "n_ctx", "seq_length")

# Tokenizers that do not know their limit report a huge sentinel (1e30) instead.
_NO_LIMIT = 10**9


def plain_prompt(messages: Sequence[Message]) -> str:
    """Format a conversation with the plain template (for tokenizers without a chat template).

    Each message is its role marker on a line of its own, then its content and a
    newline; the prompt ends with the assistant's marker and a newline::

        <|system|>
        You are a chef.
        <|user|>
        What next?
        <|assistant|>

    Args:
        messages: The conversation.

    Returns:
        The prompt text.
    """
    parts = [f"{PLAIN_ROLE_MARKERS[m.role]}\n{m.content}\n" for m in messages]
    parts.append(f"{PLAIN_ROLE_MARKERS['assistant']}\n")
    return "".join(parts)


class _StopCriterion:
    """Ends decoding when the reply's text contains one of the stop sequences.

    Attributes:
        position: Where the first stop sequence starts in the text, once one is found.
    """

    def __init__(self, stop: Sequence[str]):
        self.stop = tuple(s for s in stop if s)
        self.position: int | None = None

    def __call__(self, text: str) -> bool:
        """Return whether ``text`` (the reply so far) contains a stop sequence."""
        found = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if found:
            self.position = min(found)
        return self.position is not None


class TransformersChat(ChatModel):
    """A chat model loaded from a local folder with ``transformers`` (``AutoModelForCausalLM``).

    Example::

        chat = TransformersChat("~/models/qwen2.5-0.5b-instruct")
        reply = chat.complete([Message("user", "Hello")], temperature=0.7, seed=1)

    Calls are serialised by a lock: one generation at a time per backend.

    Attributes:
        model: The model's name (the folder's name unless ``name`` is given).
        path: The model folder.
        device: The torch device the weights live on.
        max_context_tokens: The most tokens of prompt and reply together, or ``None``
            when neither the model nor the caller says.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        max_context_tokens: int | None = None,
        chat_template: str | None = None,
        name: str | None = None,
    ):
        """Load the tokenizer and the model from ``path``.

        Args:
            path: A folder written by ``save_pretrained`` (``config.json``, weights,
                tokenizer files).
            device: Torch device for the weights (``cpu``, ``cuda``, ``cuda:1``, ``mps``).
            dtype: One of :data:`DTYPES`; ``auto`` keeps the dtype of the saved weights.
            max_context_tokens: Caps the context (prompt and reply); the model's own
                limit applies when it is smaller, and alone when this is ``None``.
            chat_template: A Jinja chat template that replaces the tokenizer's.
            name: The model's name in requests and records (default: the folder's name).

        Raises:
            InputError: The folder is missing or is not a model folder, the dtype or
                device is unknown or unavailable, or the model cannot be loaded.
        """
        folder = Path(path).expanduser()
        if not folder.exists():
            raise InputError(f"{folder}: no such model folder (nothing is downloaded)")
        if not folder.is_dir() or not (folder / "config.json").is_file():
            raise InputError(
                f"{folder}: not a model folder (expected config.json, the weights and the "
                "tokenizer files written by save_pretrained)"
            )
        if dtype not in DTYPES:
            raise InputError(f"dtype must be one of {DTYPES}, not {dtype!r}")
        if max_context_tokens is not None and max_context_tokens < 2:
            raise InputError(f"max_context_tokens must be at least 2, not {max_context_tokens}")

        import torch
        import transformers

        try:
            torch_device = torch.device(device)
        except RuntimeError as exc:
            raise InputError(f"unknown torch device {device!r}: {exc}") from exc
        if torch_device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {device!r} asked for, but torch sees no CUDA device")

        # transformers renamed `torch_dtype` to `dtype` in 4.56.
        major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
        dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
        try:
            tokenizer: Any = transformers.AutoTokenizer.from_pretrained(
                str(folder), local_files_only=True
            )
            model: Any = transformers.AutoModelForCausalLM.from_pretrained(
                str(folder), local_files_only=True, **{dtype_key: torch_dtype}
            )
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
            raise InputError(f"{folder}: cannot load the model or its tokenizer: {exc}") from exc

        self.path = folder
        self.model = name or folder.resolve().name
        self.device = str(torch_device)
        self._tokenizer: Any = tokenizer
        self._model: Any = model.to(torch_device).eval()
        self._chat_template = chat_template
        self._lock = threading.Lock()
        self.max_context_tokens = _context_limit(model.config, tokenizer, max_context_tokens)
        self._eos_ids = _eos_ids(model, tokenizer)
        # transformers 5 renamed the forward argument `past_key_values` to `cache`.
        params = inspect.signature(self._model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    # -- prompts ---------------------------------------------------------------------

    def format_prompt(self, messages: Sequence[Message]) -> str:
        """Format ``messages`` as the model's prompt text, ending where the reply begins.

        Uses the chat template given to the backend, else the tokenizer's, else
        :func:`plain_prompt`.

        Raises:
            InputError: The chat template refuses the conversation (some templates
                demand alternating roles, for example).
        """
        if not self._has_template():
            return plain_prompt(messages)
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        # Without a template of our own the tokenizer picks its default one.
        given = {"chat_template": self._chat_template} if self._chat_template else {}
        try:
            text = self._tokenizer.apply_chat_template(
                conversation, add_generation_prompt=True, tokenize=False, **given
            )
        except Exception as exc:  # jinja errors, or a template's raise_exception
            raise InputError(
                f"{self.model}: the chat template refused the messages: {exc}"
            ) from exc
        return str(text)

    def _has_template(self) -> bool:
        return bool(self._chat_template or getattr(self._tokenizer, "chat_template", None))

    def _encode(self, messages: Sequence[Message]) -> list[int]:
        text = self.format_prompt(messages)
        # A chat template writes its own special tokens (a BOS, say); the plain one
        # relies on the tokenizer's usual ones.
        ids = self._tokenizer(text, add_special_tokens=not self._has_template())["input_ids"]
        return [int(i) for i in ids]

    def _reply_budget(self, max_tokens: int) -> tuple[int | None, int]:
        """Return (tokens the prompt may use, tokens kept for the reply).

        At most half the context is kept for the reply, so a large ``max_tokens``
        never leaves the prompt without room; the reply then ends at the context.
        """
        if self.max_context_tokens is None:
            return None, max_tokens
        reserve = min(max_tokens, self.max_context_tokens // 2)
        return self.max_context_tokens - reserve, reserve

    def prompt_tokens(self, request: ChatRequest) -> list[int]:
        """The token ids the model sees for ``request``, truncated to fit the context.

        When the prompt is longer than the context less the room kept for the reply
        (``min(max_tokens, context // 2)`` tokens), the oldest messages are dropped
        first: every system message is kept, and so is the last message. If that is
        not enough, the oldest kept message other than the system ones is cut from
        the left, token by token. Either way a warning says what was dropped.

        Raises:
            InputError: The system messages alone do not fit the context, or the
                chat template refuses the messages.
        """
        budget, reserve = self._reply_budget(request.params.max_tokens)
        messages = list(request.messages)
        ids = self._encode(messages)
        if budget is None or len(ids) <= budget:
            return ids
        full = len(ids)
        others = [i for i, m in enumerate(messages) if m.role != "system"]
        if not others:
            raise InputError(self._too_long(full, budget, reserve, "the system messages alone"))
        # Start the kept part at a user message where possible: chat templates often
        # insist that the conversation alternates, starting with the user.
        starts = [i for i in others if messages[i].role == "user"] or others
        starts = sorted({*(i for i in starts if i > others[0]), others[-1]})
        kept = messages
        for start in starts:
            kept = [m for i, m in enumerate(messages) if m.role == "system" or i >= start]
            ids = self._encode(kept)
            if len(ids) <= budget:
                self._warn_truncated(full, len(ids), budget, reserve, len(messages) - len(kept))
                return ids
        ids = self._trim_left(kept, budget, full, reserve)
        self._warn_truncated(full, len(ids), budget, reserve, len(messages) - len(kept), True)
        return ids

    def _trim_left(
        self, messages: list[Message], budget: int, full: int, reserve: int
    ) -> list[int]:
        """Cut the first non-system message from the left until the prompt fits."""
        index = next(i for i, m in enumerate(messages) if m.role != "system")
        content = self._tokenizer(messages[index].content, add_special_tokens=False)["input_ids"]

        def with_tail(keep: int) -> list[int]:
            tail = self._tokenizer.decode(content[len(content) - keep :]) if keep else ""
            trimmed = [
                *messages[:index],
                Message(messages[index].role, tail),
                *messages[index + 1 :],
            ]
            return self._encode(trimmed)

        if len(with_tail(0)) > budget:
            raise InputError(
                self._too_long(full, budget, reserve, "the system messages and the last message")
            )
        low, high = 0, len(content)  # with_tail(low) fits; find the longest tail that does
        while low < high:
            mid = (low + high + 1) // 2
            if len(with_tail(mid)) <= budget:
                low = mid
            else:
                high = mid - 1
        return with_tail(low)

    def _too_long(self, full: int, budget: int, reserve: int, what: str) -> str:
        return (
            f"{self.model}: the prompt has {full} tokens and {what} do not fit in "
            f"{budget} tokens (context {self.max_context_tokens}, {reserve} kept for the reply)"
        )

    def _warn_truncated(
        self, full: int, kept: int, budget: int, reserve: int, dropped: int, trimmed: bool = False
    ) -> None:
        how = (
            f"dropped the {dropped} oldest non-system message(s)"
            if dropped
            else "dropped no message"
        )
        if trimmed:
            how += " and cut the oldest one kept from the left"
        warnings.warn(
            f"{self.model}: the prompt ({full} tokens) exceeds the context budget of {budget} "
            f"tokens (context {self.max_context_tokens}, {reserve} kept for the reply); "
            f"{how}, keeping the system messages: {kept} tokens remain",
            stacklevel=5,  # the caller of ChatModel.complete
        )

    # -- generation ------------------------------------------------------------------

    def complete_request(self, request: ChatRequest) -> Completion:
        """Answer ``request`` with the local model (see the module's notes).

        Raises:
            InputError: Bad sampling parameters, or a prompt that cannot fit the context.
            BrigadeError: The backend was closed.
        """
        start = time.perf_counter()
        params = request.params
        _check_params(params)
        seed = params.seed if params.seed is not None else int(request.key()[:16], 16)
        with self._lock:
            if self._model is None:
                raise BrigadeError(f"{self.model}: the backend is closed")
            prompt = self.prompt_tokens(request)
            limit = params.max_tokens
            if self.max_context_tokens is not None:
                limit = min(limit, self.max_context_tokens - len(prompt))
            generated, text = self._generate(prompt, params, seed, limit)
        usage = Usage(len(prompt), len(generated), source="tokenizer")
        return Completion(text, usage, time.perf_counter() - start, model=self.model)

    def _generate(
        self, prompt: list[int], params: SamplingParams, seed: int, limit: int
    ) -> tuple[list[int], str]:
        """Decode up to ``limit`` tokens after ``prompt``; return them and the reply's text."""
        import torch

        # A generator of our own, on the CPU where the draw happens: the global
        # random state is left alone and the draws do not depend on the device.
        generator = torch.Generator(device="cpu")
        generator.manual_seed(seed % 2**63)
        stop = _StopCriterion(params.stop)
        generated: list[int] = []
        cache: Any = None
        step_input = torch.tensor([prompt], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            for _ in range(limit):
                out = self._model(input_ids=step_input, use_cache=True, **{self._cache_arg: cache})
                cache = out["cache"] if "cache" in out else out["past_key_values"]
                logits = out["logits"][0, -1].to(device="cpu", dtype=torch.float64)
                token = _pick(logits, params.temperature, params.top_p, generator)
                generated.append(token)
                if token in self._eos_ids:
                    break
                if stop.stop and stop(self._decode(generated)):
                    break
                step_input = torch.tensor([[token]], dtype=torch.long, device=self.device)
        text = self._decode(generated)
        if stop.position is not None:
            text = text[: stop.position]
        return generated, text

    def _decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=True))

    # -- the rest of the interface ---------------------------------------------------

    def describe(self) -> dict[str, object]:
        """Settings that identify the backend: backend, model, path, device, dtype, context."""
        dtype = str(self._model.dtype).removeprefix("torch.") if self._model is not None else ""
        return {
            "backend": "transformers",
            "model": self.model,
            "path": str(self.path.resolve()),
            "device": self.device,
            "dtype": dtype,
            "max_context_tokens": self.max_context_tokens,
        }

    def close(self) -> None:
        """Drop the weights (and free the accelerator's cached memory)."""
        with self._lock:
            if self._model is None:
                return
            on_cuda = self.device.startswith("cuda")
            self._model = None
            if on_cuda:
                import torch

                torch.cuda.empty_cache()


def _check_params(params: SamplingParams) -> None:
    if params.temperature < 0:
        raise InputError(f"temperature must be at least 0, not {params.temperature}")
    if not 0 < params.top_p <= 1:
        raise InputError(f"top_p must be in (0, 1], not {params.top_p}")
    if params.max_tokens < 1:
        raise InputError(f"max_tokens must be at least 1, not {params.max_tokens}")


def _pick(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """Choose the next token from float64 CPU ``logits``: greedy at temperature 0, else sample."""
    import torch

    if temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    ordered, order = torch.sort(probs, descending=True, stable=True)
    if top_p < 1:
        # The nucleus: the most likely tokens until their mass reaches top_p (the
        # first one always belongs to it).
        ordered = ordered * ((torch.cumsum(ordered, dim=-1) - ordered) < top_p)
    choice = torch.multinomial(ordered, 1, generator=generator)
    return int(order[choice])


def _context_limit(config: Any, tokenizer: Any, cap: int | None) -> int | None:
    """The smallest of the model's position limit, the tokenizer's limit and ``cap``."""
    limits = [getattr(config, name, None) for name in _CONTEXT_FIELDS]
    limits.append(getattr(tokenizer, "model_max_length", None))
    limits.append(cap)
    found = [int(x) for x in limits if isinstance(x, int) and 0 < x < _NO_LIMIT]
    return min(found) if found else None


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """End-of-sequence ids from the tokenizer and the model's generation config."""
    ids: set[int] = set()
    for value in (
        getattr(tokenizer, "eos_token_id", None),
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
    ):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return frozenset(ids)
