"""The run's budgets: steps (model calls), tokens, cost and wall-clock time."""

from __future__ import annotations

from pyclaw.brain._state import Outcome, RunState, RunStop
from pyclaw.meta import BudgetExceededError, RunStatus


def check_budget(st: RunState, *, before_step: bool) -> None:
    """Raise ``RunStop`` when a budget is used up.

    Before a model call every limit is checked; after a reply that asks for tools, tokens and cost
    are (the calls are then not run). A reply that is a final answer is always kept.
    """
    budget = st.request.budget
    if before_step and budget.max_steps is not None and st.steps >= budget.max_steps:
        raise budget_stop(
            "max_steps",
            f"its step budget ({budget.max_steps} model calls)",
            limit=budget.max_steps,
            used=st.steps,
        )
    tokens = st.usage.total_tokens
    if budget.max_tokens is not None and tokens > budget.max_tokens:
        raise budget_stop(
            "max_tokens",
            f"its token budget ({budget.max_tokens} tokens, {tokens} used)",
            limit=budget.max_tokens,
            used=tokens,
        )
    if budget.max_cost_usd is not None and st.cost_usd > budget.max_cost_usd:
        raise budget_stop(
            "max_cost_usd",
            f"its cost budget (${budget.max_cost_usd:.4f}, ${st.cost_usd:.4f} spent)",
            limit=budget.max_cost_usd,
            used=st.cost_usd,
        )


def timeout_outcome(timeout_s: float) -> Outcome:
    """The outcome of a run whose wall-clock budget ran out."""
    return budget_stop(
        "timeout_s", f"its time budget ({timeout_s:g} s)", limit=timeout_s, used=timeout_s
    ).outcome


def budget_stop(kind: str, what: str, *, limit: float, used: float) -> RunStop:
    error = BudgetExceededError(f"the run hit {what}").to_info(budget=kind, limit=limit, used=used)
    return RunStop(
        Outcome(
            RunStatus.FAILED,
            error,
            say=f"I had to stop before finishing: this run hit {what}.",
            unfinished=f"the run hit {what}",
        )
    )
