"""The agent loop: plan → act → observe → reflect, under budgets.

``AgentBrain`` implements the ``pyclaw.meta.Brain`` protocol. It is handed every collaborator (the
LLM provider, context builder, tool host, session log, policy, approver and guard) as a
``pyclaw.meta`` protocol, so this package depends on ``pyclaw-meta`` alone.
"""

from pyclaw.brain._brain import AgentBrain
from pyclaw.brain._model import PLAN_NOTE
from pyclaw.brain._resume import RESUME_TRIGGER, resumed_from
from pyclaw.brain._settings import BrainSettings, RunObserver

__all__ = [
    "PLAN_NOTE",
    "RESUME_TRIGGER",
    "AgentBrain",
    "BrainSettings",
    "RunObserver",
    "resumed_from",
]
