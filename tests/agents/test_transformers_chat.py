"""The local transformers backend, on a tiny randomly initialised model built here (no download)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from brigade.agents.transformers_chat import TransformersChat, plain_prompt  # noqa: E402
from brigade.chat import ChatRequest, Message, SamplingParams  # noqa: E402
from brigade.errors import BrigadeError, InputError  # noqa: E402

SENTENCES = [
    "You are a chef in a kitchen .",
    "NAME Bob ACTION PICK onion",
    "NAME Alice ACTION PUT onion pot",
    "NAME Alice ACTION WAIT",
    "EXECUTE PROCEED",
    "<|system|> <|user|> <|assistant|>",
]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
SYSTEM = Message("system", "You are a chef .")
USER = Message("user", "NAME Bob ACTION PICK onion")


def _build(folder: Path, *, eos_logit: float, template: str | None) -> None:
    """Save a word-level tokenizer and a 2-layer GPT-2 with 32 hidden units to ``folder``.

    The final layer norm is doctored so that hidden unit 0 is always 1; the output
    rows of the special tokens are then ``eos_logit`` on that unit and 0 elsewhere,
    which fixes their logit: -20 and the model never ends a reply by itself (nor
    writes padding), +20 and it always ends at once.
    """
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    trainer = tokenizers.trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "</s>"])
    tok.train_from_iterator(SENTENCES, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
    )
    if template:
        fast.chat_template = template
    config = transformers.GPT2Config(
        vocab_size=len(fast),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():
        model.transformer.ln_f.weight[0] = 0.0
        model.transformer.ln_f.bias[0] = 1.0
        wte = model.transformer.wte.weight  # tied with the output layer
        for token in ("<unk>", "<pad>"):
            wte[fast.convert_tokens_to_ids(token)] = 0.0
            wte[fast.convert_tokens_to_ids(token), 0] = -20.0
        wte[fast.eos_token_id] = 0.0
        wte[fast.eos_token_id, 0] = eos_logit
    model.save_pretrained(folder)
    fast.save_pretrained(folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny-gpt2"
    rng = torch.random.get_rng_state()
    _build(path, eos_logit=-20.0, template=TEMPLATE)
    torch.random.set_rng_state(rng)
    return path


@pytest.fixture(scope="module")
def chat(folder: Path) -> TransformersChat:
    return TransformersChat(folder)


def _vocabulary() -> set[str]:
    return {w for s in SENTENCES for w in s.split()}


def test_reply_with_usage_counted_by_the_tokenizer(chat: TransformersChat) -> None:
    reply = chat.complete([SYSTEM, USER], max_tokens=8)
    # "<|system|> You are a chef . <|user|> NAME Bob ACTION PICK onion <|assistant|> "
    # is 3 + 5 + 3 + 5 + 3 word-level tokens.
    assert reply.usage.tokens_in == 19
    assert reply.usage.tokens_out == 8
    assert reply.usage.source == "tokenizer"
    assert reply.model == chat.model == "tiny-gpt2"
    words = reply.text.split()
    assert len(words) == 8
    assert set(words) <= _vocabulary() | {"<|", "|>", "system", "user", "assistant"}
    assert reply.latency_s > 0
    assert not reply.cached


def test_describe(chat: TransformersChat, folder: Path) -> None:
    info = chat.describe()
    assert info["backend"] == "transformers"
    assert info["model"] == "tiny-gpt2"
    assert info["path"] == str(folder.resolve())
    assert info["device"] == "cpu"
    assert info["dtype"] == "float32"
    assert info["max_context_tokens"] == 64
    assert TransformersChat(folder, name="chef-7b").model == "chef-7b"
    assert TransformersChat(folder, dtype="bfloat16").describe()["dtype"] == "bfloat16"


def test_a_closed_backend_refuses_requests(folder: Path) -> None:
    chat = TransformersChat(folder)
    chat.close()
    chat.close()  # twice is fine
    with pytest.raises(BrigadeError, match="closed"):
        chat.complete([USER])


def test_greedy_replies_are_deterministic(chat: TransformersChat, folder: Path) -> None:
    first = chat.complete([USER], max_tokens=10)
    assert chat.complete([USER], max_tokens=10).text == first.text
    assert chat.complete([USER], max_tokens=10, seed=5).text == first.text  # no draw at T=0
    assert TransformersChat(folder).complete([USER], max_tokens=10).text == first.text


def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone(
    chat: TransformersChat,
) -> None:
    def sample(seed: int | None) -> str:
        return chat.complete([USER], temperature=1.0, max_tokens=12, seed=seed).text

    before = torch.random.get_rng_state()
    one = sample(1)
    assert torch.equal(torch.random.get_rng_state(), before)

    torch.manual_seed(123)  # the global state must not matter either
    assert sample(1) == one
    torch.manual_seed(456)
    assert sample(1) == one
    assert sample(2) != one
    assert sample(3) not in (one, sample(2))
    # Without a seed, the request's hash seeds the draw: the same request, the same reply.
    assert sample(None) == sample(None)
    torch.random.set_rng_state(before)


def test_a_tiny_nucleus_is_greedy(chat: TransformersChat) -> None:
    greedy = chat.complete([USER], max_tokens=10).text
    assert chat.complete([USER], temperature=1.0, top_p=1e-9, max_tokens=10, seed=9).text == greedy


def test_stop_sequences_cut_the_reply_and_end_generation(chat: TransformersChat) -> None:
    full = chat.complete([USER], temperature=1.0, max_tokens=16, seed=3)
    stop = full.text.split()[5]
    at = full.text.index(stop)
    cut = chat.complete([USER], temperature=1.0, max_tokens=16, seed=3, stop=[stop])
    assert cut.text == full.text[:at]
    assert stop not in cut.text
    assert cut.usage.tokens_out == len(full.text[: at + len(stop)].split()) < 16
    # Of several stop sequences the earliest in the text wins.
    first = full.text.split()[1]
    both = chat.complete([USER], temperature=1.0, max_tokens=16, seed=3, stop=[stop, first])
    assert both.text == full.text[: full.text.index(first)]


def test_max_tokens_is_respected(chat: TransformersChat) -> None:
    for n in (1, 3, 7):
        reply = chat.complete([USER], temperature=1.0, max_tokens=n, seed=0)
        assert reply.usage.tokens_out == n
        assert len(reply.text.split()) == n


def test_end_of_sequence_and_the_plain_template(tmp_path: Path) -> None:
    rng = torch.random.get_rng_state()
    _build(tmp_path / "eos", eos_logit=20.0, template=None)
    torch.random.set_rng_state(rng)
    chat = TransformersChat(tmp_path / "eos")
    assert chat.format_prompt([SYSTEM, USER]) == plain_prompt([SYSTEM, USER])
    assert plain_prompt([SYSTEM, USER]) == (
        "<|system|>\nYou are a chef .\n<|user|>\nNAME Bob ACTION PICK onion\n<|assistant|>\n"
    )
    reply = chat.complete([SYSTEM, USER], max_tokens=10)
    assert reply.text == ""
    assert reply.usage.tokens_out == 1  # the end-of-sequence token
    assert reply.usage.tokens_in == 19  # 3 markers of 3 tokens each, and 10 words
    # A template given to the backend replaces the (missing) tokenizer one.
    templated = TransformersChat(tmp_path / "eos", chat_template=TEMPLATE)
    assert templated.format_prompt([USER]) == "<|user|> NAME Bob ACTION PICK onion <|assistant|> "


def test_long_prompts_are_truncated_from_the_left_keeping_the_system_message(
    chat: TransformersChat,
) -> None:
    history = [SYSTEM]
    for i in range(6):
        history.append(Message("user", f"NAME Alice ACTION PUT onion pot {'onion ' * i}"))
        history.append(Message("assistant", "EXECUTE NAME Bob ACTION WAIT"))
    history.append(USER)
    request = ChatRequest(chat.model, tuple(history), SamplingParams(max_tokens=8))
    with pytest.warns(UserWarning, match="exceeds the context budget"):
        ids = chat.prompt_tokens(request)
    assert len(ids) <= 64 - 8
    text = chat._tokenizer.decode(ids)
    assert text.startswith("<| system |> You are a chef .")
    assert text.endswith("NAME Bob ACTION PICK onion <| assistant |>")
    assert "PUT onion pot onion onion onion onion onion" in text  # the newest turns are kept
    assert "PUT onion pot <|" not in text  # the oldest turn is gone
    # The kept part starts with a user turn, right after the system message.
    assert text.startswith("<| system |> You are a chef . <| user |>")
    with pytest.warns(UserWarning, match="exceeds the context budget"):
        reply = chat.complete(history, max_tokens=8)
    assert reply.usage.tokens_in == len(ids)
    assert reply.usage.tokens_out == 8


def test_a_single_long_message_is_cut_from_the_left(chat: TransformersChat) -> None:
    long = Message("user", " ".join(f"NAME Bob ACTION WAIT {i % 10}" for i in range(20)) + " END")
    with pytest.warns(UserWarning, match="cut the oldest one kept from the left"):
        reply = chat.complete([SYSTEM, long], max_tokens=4)
    assert reply.usage.tokens_in <= 60
    request = ChatRequest(chat.model, (SYSTEM, long), SamplingParams(max_tokens=4))
    with pytest.warns(UserWarning, match="dropped no message"):
        ids = chat.prompt_tokens(request)
    assert len(ids) == reply.usage.tokens_in
    text = chat._tokenizer.decode(ids)
    assert text.startswith("<| system |> You are a chef . <| user |>")
    assert text.endswith("<unk> <| assistant |>")  # the message's end survives ("END" is unknown)


def test_a_system_message_longer_than_the_context_is_an_error(folder: Path) -> None:
    chat = TransformersChat(folder, max_context_tokens=16)
    assert chat.max_context_tokens == 16
    with pytest.raises(InputError, match="do not fit"):
        chat.complete([Message("system", "You are a chef . " * 5), USER], max_tokens=4)


def test_bad_paths_and_settings_are_clear_errors(tmp_path: Path, folder: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(InputError, match="no-such-model: no such model folder"):
        TransformersChat(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: not a model folder"):
        TransformersChat(tmp_path / "empty")
    (tmp_path / "weights-only").mkdir()
    (tmp_path / "weights-only" / "config.json").write_text((folder / "config.json").read_text())
    with pytest.raises(InputError, match="weights-only: cannot load the model or its tokenizer"):
        TransformersChat(tmp_path / "weights-only")
    with pytest.raises(InputError, match="dtype"):
        TransformersChat(folder, dtype="float8")
    with pytest.raises(InputError, match="device"):
        TransformersChat(folder, device="warp-drive")


def test_bad_sampling_parameters_are_errors(chat: TransformersChat) -> None:
    with pytest.raises(InputError, match="temperature"):
        chat.complete([USER], temperature=-1.0)
    with pytest.raises(InputError, match="top_p"):
        chat.complete([USER], top_p=0.0)
    with pytest.raises(InputError, match="max_tokens"):
        chat.complete([USER], max_tokens=0)


def test_concurrent_calls_give_the_sequential_replies(chat: TransformersChat) -> None:
    def sample(seed: int) -> str:
        return chat.complete([USER], temperature=1.0, max_tokens=6, seed=seed).text

    sequential = [sample(s) for s in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(sample, range(6))) == sequential


def test_importing_the_agents_package_does_not_import_torch() -> None:
    code = (
        "import sys, brigade.agents, brigade.agents.transformers_chat\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
