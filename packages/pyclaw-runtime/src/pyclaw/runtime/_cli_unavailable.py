"""Commands whose capability arrives in a later version: present in ``--help``, refused when run."""

from __future__ import annotations

from pyclaw.runtime._cli_lazy import unavailable_group

eval_group = unavailable_group(
    "eval", "Replay recorded sessions as regression checks.", {"replay": "Replay sessions."}
)
