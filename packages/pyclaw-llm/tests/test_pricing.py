"""Price table lookups and cost arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pyclaw.llm import DEFAULT_PRICES, PRICES_AS_OF, ModelPrice, cost_of, price_for
from pyclaw.meta import Usage

MILLION = 1_000_000


def test_the_table_is_dated_and_covers_the_common_models() -> None:
    assert PRICES_AS_OF == "2025-11"
    for model in (
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-5",
        "gpt-5-mini",
        "o3",
        "o4-mini",
        "claude-sonnet-4-5",
        "claude-opus-4-1",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
    ):
        assert model in DEFAULT_PRICES, model


def test_cost_of_a_plain_call() -> None:
    usage = Usage(input_tokens=MILLION, output_tokens=MILLION)
    assert cost_of("gpt-4o", usage) == 2.50 + 10.00
    assert cost_of("claude-sonnet-4-5", usage) == 3.00 + 15.00


def test_cached_input_is_part_of_input_and_billed_at_the_cached_rate() -> None:
    usage = Usage(input_tokens=1000, output_tokens=100, cached_tokens=800)
    expected = (200 * 2.50 + 800 * 1.25 + 100 * 10.00) / MILLION
    assert cost_of("gpt-4o", usage) == pytest.approx(expected)
    # a model without a cached price gets no discount
    assert cost_of("gpt-4", usage) == pytest.approx((1000 * 30 + 100 * 60) / MILLION)


def test_cached_tokens_beyond_input_are_clamped() -> None:
    usage = Usage(input_tokens=10, cached_tokens=50)
    assert cost_of("gpt-4o", usage) == pytest.approx(10 * 1.25 / MILLION)


@pytest.mark.parametrize(
    ("model", "priced_as"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("GPT-4o", "gpt-4o"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("anthropic/claude-opus-4-1-20250805", "claude-opus-4-1"),
    ],
)
def test_lookup_tolerates_dates_case_and_vendor_prefixes(model: str, priced_as: str) -> None:
    assert price_for(model) == DEFAULT_PRICES[priced_as]


def test_a_dated_snapshot_with_its_own_price_keeps_it() -> None:
    assert price_for("gpt-4o-2024-05-13") == ModelPrice(input=5, output=15)


@pytest.mark.parametrize(
    "model",
    ["llama3.2", "smollm2-135m", "gpt-4o-mini-tts", "gpt-3.5-turbo-1106", "claude-sonnet", ""],
)
def test_unknown_models_cost_none_never_a_guess(model: str) -> None:
    assert price_for(model) is None
    assert cost_of(model, Usage(input_tokens=100, output_tokens=100)) is None


def test_overrides_win_and_the_wildcard_prices_everything_else() -> None:
    overrides = {"gpt-4o": ModelPrice(input=1, output=2), "*": ModelPrice.free()}
    usage = Usage(input_tokens=MILLION, output_tokens=MILLION)
    assert cost_of("gpt-4o-2024-08-06", usage, overrides) == 3.0
    assert cost_of("llama3.2", usage, overrides) == 0.0
    assert cost_of("claude-sonnet-4-5", usage, overrides) == 0.0  # "*" covers every model
    assert cost_of("claude-sonnet-4-5", usage, {"GPT-4O": ModelPrice(input=1, output=1)}) == 18.0


def test_model_price_validation() -> None:
    with pytest.raises(ValidationError):
        ModelPrice(input=-1, output=1)
    with pytest.raises(ValidationError):
        ModelPrice.model_validate({"input": 1, "output": 1, "per": "token"})
    assert ModelPrice.model_validate({"input": 0.1, "output": 0.4}).cached_input is None


@given(
    inp=st.integers(0, 10**9),
    out=st.integers(0, 10**9),
    cached=st.integers(0, 10**9),
    model=st.sampled_from(sorted(DEFAULT_PRICES)),
)
def test_cost_is_never_negative_and_grows_with_output(
    inp: int, out: int, cached: int, model: str
) -> None:
    usage = Usage(input_tokens=inp, output_tokens=out, cached_tokens=cached)
    cost = cost_of(model, usage)
    assert cost is not None
    assert cost >= 0
    more = cost_of(model, usage.model_copy(update={"output_tokens": out + 1000}))
    assert more is not None
    assert more >= cost
