"""The ledger: prices, roll-ups, budget caps and thread safety."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from brigade.agents.ledger import DEFAULT_PRICES, Ledger, Price, PriceTable, Totals
from brigade.chat import Completion, Usage
from brigade.errors import BudgetExceededError, ConfigError


def reply(
    tokens_in: int,
    tokens_out: int,
    *,
    model: str = "gpt-4o",
    cached: bool = False,
    latency_s: float = 0.5,
    retries: int = 0,
) -> Completion:
    return Completion(
        "ok", Usage(tokens_in, tokens_out), latency_s, cached=cached, model=model, retries=retries
    )


# -- prices ------------------------------------------------------------------------


def test_default_prices_per_million_tokens() -> None:
    table = PriceTable()
    assert table.cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.50)
    assert table.cost("gpt-4o", 1000, 500) == pytest.approx((1000 * 2.50 + 500 * 10.0) / 1e6)


def test_the_most_specific_pattern_wins() -> None:
    table = PriceTable()
    assert table.match("gpt-4o-2024-08-06") == "gpt-4o*"
    assert table.match("gpt-4o-mini-2024-07-18") == "gpt-4o-mini*"
    assert table.price("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini*"]
    assert table.match("gpt-4") == "gpt-4"


def test_an_exact_name_wins_over_patterns() -> None:
    table = PriceTable({"gpt-*": Price(1, 1), "gpt-x": Price(2, 2)})
    assert table.price("gpt-x") == Price(2, 2)
    assert table.price("gpt-y") == Price(1, 1)


@pytest.mark.parametrize("model", ["llama-3-8b", "sim-llm", "", "Qwen/Qwen2.5-7B"])
def test_unknown_local_and_simulated_models_are_free(model: str) -> None:
    assert PriceTable().cost(model, 10_000, 10_000) == 0.0


def test_a_table_from_a_dict_extends_or_replaces_the_defaults() -> None:
    table = PriceTable.from_dict({"my-model": [1.0, 2.0], "gpt-4o*": {"input": 5, "output": 15}})
    assert table.price("my-model") == Price(1.0, 2.0)
    assert table.price("gpt-4o") == Price(5.0, 15.0)
    assert table.price("gpt-3.5-turbo") == DEFAULT_PRICES["gpt-3.5-turbo*"]
    alone = PriceTable.from_dict({"my-model": [1.0, 2.0]}, extend_default=False)
    assert alone.prices == {"my-model": Price(1.0, 2.0)}


def test_a_table_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("# USD per million tokens\nmistral-*: {input: 0.25, output: 0.75}\n")
    table = PriceTable.from_yaml(path)
    assert table.cost("mistral-7b", 4_000_000, 2_000_000) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"m": {"inptu": 1, "output": 2}}, "did you mean 'input'"),
        ({"m": {"input": 1}}, "no 'output'"),
        ({"m": [1, -2]}, ">= 0"),
        ({"m": [1, "two"]}, ">= 0"),
        ({"m": 3}, "a price is"),
    ],
)
def test_bad_prices_are_config_errors_naming_the_key(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        PriceTable.from_dict(entry)
    assert (info.value.key or "").startswith("m")


def test_a_bad_yaml_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"prices\.yaml"):
        PriceTable.from_yaml(path)
    path.write_text("m: {input: 1, outptu: 2}\n")
    with pytest.raises(ConfigError, match=r"prices\.yaml.*did you mean 'output'") as info:
        PriceTable.from_yaml(path)
    assert str(info.value).count("m.outptu") == 1


# -- entries and roll-ups ---------------------------------------------------------------


def test_record_returns_a_priced_entry() -> None:
    ledger = Ledger()
    entry = ledger.record(
        reply(1000, 200, latency_s=1.25, retries=2),
        model="gpt-4o",
        run="r1",
        episode="e1",
        agent="Alice",
        purpose="plan",
    )
    assert entry.index == 0
    assert (entry.tokens_in, entry.tokens_out, entry.usage_source) == (1000, 200, "server")
    assert entry.cost_usd == pytest.approx((1000 * 2.5 + 200 * 10) / 1e6)
    assert (entry.latency_s, entry.retries, entry.cached) == (1.25, 2, False)
    assert (entry.run, entry.episode, entry.agent, entry.purpose) == ("r1", "e1", "Alice", "plan")
    assert ledger.entries == [entry]


def test_the_model_defaults_to_the_completions() -> None:
    entry = Ledger().record(reply(1_000_000, 0, model="gpt-4o-mini"))
    assert entry.model == "gpt-4o-mini" and entry.cost_usd == pytest.approx(0.15)


def test_cached_calls_spend_no_budget_but_report_what_they_cost() -> None:
    ledger = Ledger(budget_tokens=100)
    entry = ledger.record(reply(1000, 1000, cached=True))
    assert entry.cost_usd > 0.0 and entry.cached  # what the recorded call cost
    assert ledger.spent_usd == 0.0
    assert ledger.total().tokens_in == 1000 and ledger.total().cached == 1
    assert ledger.spent_tokens == 0
    ledger.check_budget()  # cached tokens spend nothing


def test_rollups_by_agent_episode_and_run() -> None:
    table = PriceTable({"m": Price(1_000_000, 2_000_000)})  # 1 and 2 USD per token
    ledger = Ledger(table)
    ledger.record(reply(1, 1, model="m"), run="r", episode="e0", agent="Alice")
    ledger.record(reply(2, 0, model="m", retries=1), run="r", episode="e0", agent="Bob")
    ledger.record(reply(1, 1, model="m", cached=True), run="r", episode="e1", agent="Alice")
    by_agent = ledger.totals(by="agent")
    assert by_agent == {
        "Alice": Totals(
            calls=2, tokens_in=2, tokens_out=2, cost_usd=6.0, latency_s=1.0, retries=0, cached=1
        ),
        "Bob": Totals(
            calls=1, tokens_in=2, tokens_out=0, cost_usd=2.0, latency_s=0.5, retries=1, cached=0
        ),
    }
    assert {k: v.calls for k, v in ledger.totals(by="episode").items()} == {"e0": 2, "e1": 1}
    (run,) = ledger.totals(by="run").values()
    assert run == ledger.total()
    assert run.cost_usd == 8.0 and run.calls == 3 and ledger.spent_usd == 5.0
    assert ledger.totals(by="model")["m"].calls == 3


def test_an_unknown_rollup_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'agent'"):
        Ledger().totals(by="agnet")


def test_the_export_is_json() -> None:
    ledger = Ledger(budget_usd=1.0)
    ledger.record(reply(10, 5), agent="Alice")
    data = json.loads(json.dumps(ledger.to_dict()))
    assert data["budget_usd"] == 1.0
    assert data["entries"][0]["agent"] == "Alice"
    assert data["total"]["calls"] == 1


# -- budgets ---------------------------------------------------------------------------


def test_the_token_budget_raises_exactly_when_reached() -> None:
    ledger = Ledger(budget_tokens=100)
    ledger.check_budget()
    ledger.record(reply(50, 9))
    ledger.check_budget()  # 59
    ledger.record(reply(30, 10))
    ledger.check_budget()  # 99
    ledger.record(reply(1, 0))
    with pytest.raises(BudgetExceededError, match="100 of the 100 token budget in 3 calls"):
        ledger.check_budget()


def test_the_cost_budget_raises_when_reached_despite_rounding() -> None:
    # 0.7 + 0.1 + 0.1 + 0.1 sums to 0.9999999999999999 in floating point.
    table = PriceTable({"m": Price(100_000, 0)})  # 0.1 USD per prompt token
    ledger = Ledger(table, budget_usd=1.0)
    for tokens in (7, 1, 1):
        ledger.record(reply(tokens, 0, model="m"))
        ledger.check_budget()
    ledger.record(reply(1, 0, model="m"))
    with pytest.raises(BudgetExceededError) as info:
        ledger.check_budget()
    assert info.value.kind == "budget"
    assert "the run ends with what it recorded" in str(info.value)
    assert len(ledger.entries) == 4  # nothing recorded is lost


def test_a_budget_cap_over_the_cost_stops_before_the_next_call() -> None:
    ledger = Ledger(budget_usd=0.01)
    ledger.record(reply(2000, 1000))  # 0.015 USD at gpt-4o prices: over the cap
    with pytest.raises(BudgetExceededError, match=r"\$0\.0150 of the \$0\.0100 budget"):
        ledger.check_budget()


def test_negative_budgets_are_refused() -> None:
    with pytest.raises(ConfigError, match="budget_usd"):
        Ledger(budget_usd=-1)
    with pytest.raises(ConfigError, match="budget_tokens"):
        Ledger(budget_tokens=-1)


# -- threads ------------------------------------------------------------------------------


def test_concurrent_records_lose_nothing() -> None:
    table = PriceTable({"m": Price(1_000_000, 0)})
    ledger = Ledger(table)

    def work(worker: int) -> None:
        for i in range(500):
            ledger.record(reply(1, 2, model="m"), agent=f"a{worker}", episode=str(i % 3))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    entries = ledger.entries
    assert sorted(e.index for e in entries) == list(range(4000))
    assert ledger.total().calls == 4000 and ledger.total().tokens_out == 8000
    assert ledger.spent_usd == 4000.0 and ledger.spent_tokens == 12000
    assert all(t.calls == 500 for t in ledger.totals(by="agent").values())
