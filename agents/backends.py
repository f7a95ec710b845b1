"""Chat backends by name: ``sim`` (the default), ``openai`` and ``transformers``.

``build_llm(name, model=..., options=...)`` builds a backend from its config
dataclass (unknown options are errors that name the key), optionally wrapped
in the record/replay cache. Third parties add backends through the
``brigade.llms`` entry-point group.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brigade.agents.cache import CachedChat
from brigade.agents.simulated import SimConfig, SimulatedLLM
from brigade.chat import ChatModel
from brigade.config import load_config
from brigade.errors import ConfigError
from brigade.registry import Registry

LLMS: Registry[ChatModel] = Registry("LLM backend", "brigade.llms")

#: The answer format as a regular expression, for servers with guided decoding.
ANSWER_REGEX = (
    r"(?s).{0,2000}?\n(EXECUTE|PROCEED)\n(NAME [A-Za-z][A-Za-z0-9_\-]* ACTION [^\n]+\n?)+"
)


@LLMS.register("sim", config=SimConfig, description="the simulated LLM (not a real model)")
def _simulated(config: SimConfig) -> ChatModel:
    return SimulatedLLM(config)


@dataclass
class OpenAIBackendConfig:
    """An OpenAI-compatible server (OpenAI, vLLM, SGLang, Ollama...).

    Attributes:
        model: The model's name on the server.
        base_url: The server (default: ``OPENAI_BASE_URL``, else OpenAI).
        timeout_s: Seconds before a request times out.
        max_retries: Retries of failed requests (backoff with jitter, Retry-After honoured).
        retry_base_s: Cap of the first backoff wait, in seconds (it doubles per retry).
        max_concurrency: Requests in flight at once.
        requests_per_s: Request rate cap (0: none).
        guided: Constrain replies to the answer format (vLLM's guided decoding).
    """

    model: str = "gpt-4o-mini"
    base_url: str = ""
    timeout_s: float = 60.0
    max_retries: int = 4
    retry_base_s: float = 0.5
    max_concurrency: int = 8
    requests_per_s: float = 0.0
    guided: bool = False

    def model_name_used(self) -> str:
        """The name the backend answers under (for replays that do not build it)."""
        return self.model


@LLMS.register("openai", config=OpenAIBackendConfig, description="an OpenAI-compatible server")
def _openai(config: OpenAIBackendConfig) -> ChatModel:
    from brigade.agents.limits import RetryPolicy
    from brigade.agents.openai_chat import OpenAIChat

    return OpenAIChat(
        config.model,
        base_url=config.base_url or None,
        timeout_s=config.timeout_s,
        retry=RetryPolicy(max_retries=config.max_retries, base_s=config.retry_base_s),
        max_concurrency=config.max_concurrency,
        requests_per_s=config.requests_per_s or None,
        guided_regex=ANSWER_REGEX if config.guided else None,
    )


@dataclass
class TransformersBackendConfig:
    """A local model from weights on disk.

    Attributes:
        model: The model's folder.
        device: ``cpu`` or ``cuda``.
        dtype: ``auto``, ``float32``, ``float16`` or ``bfloat16``.
    """

    model: str = ""
    device: str = "cpu"
    dtype: str = "auto"

    def model_name_used(self) -> str:
        """The name the backend answers under: the folder's name."""
        return Path(self.model).resolve().name


@LLMS.register(
    "transformers", config=TransformersBackendConfig, description="local weights (transformers)"
)
def _transformers(config: TransformersBackendConfig) -> ChatModel:
    if not config.model:
        raise ConfigError("give the model's folder: --model /path/to/model", key="model")
    from brigade.agents.transformers_chat import TransformersChat

    return TransformersChat(config.model, device=config.device, dtype=config.dtype)


def build_llm(
    name: str,
    *,
    model: str = "",
    base_url: str = "",
    options: dict[str, Any] | None = None,
    cache: str = "",
    cache_mode: str = "off",
) -> ChatModel:
    """Build the backend ``name``.

    Args:
        name: A registered backend (``sim``, ``openai``, ``transformers``).
        model: The model (its name, or its folder); empty keeps the backend's default.
        base_url: The server, for backends that have one.
        options: Other settings of the backend's config (the simulator's error model...).
        cache: A record/replay cache folder ("" for none).
        cache_mode: ``off``, ``readwrite`` or ``replay`` (replay never builds the
            backend: no server, key or weights are needed).

    Raises:
        RegistryError: Unknown backend (the message suggests the closest).
        ConfigError: An unknown option or a bad value.
    """
    entry = LLMS.get(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    values: dict[str, Any] = {}
    if model and "model" in fields:
        values["model"] = model
    if base_url and "base_url" in fields:
        values["base_url"] = base_url
    values.update(options or {})
    config = load_config(entry.config, values=values) if values else entry.config()
    if cache_mode == "replay":
        if not cache:
            raise ConfigError("replay needs the cache to replay: give --cache DIR", key="cache")
        # Replay never asks the backend, so it is not built (no server, key or weights
        # needed); its name comes from the config, as when the run was recorded.
        name_of = getattr(config, "model_name_used", None)
        recorded_name = name_of() if callable(name_of) else entry.factory(config).model
        return CachedChat(None, cache, "replay", model=recorded_name)
    backend: ChatModel = entry.factory(config)
    if cache and cache_mode != "off":
        backend = CachedChat(backend, cache, cache_mode)
    return backend
