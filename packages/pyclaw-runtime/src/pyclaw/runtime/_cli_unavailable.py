"""Commands whose capability arrives in a later version: present in ``--help``, refused when run."""

from __future__ import annotations

from pyclaw.runtime._cli_lazy import UnavailableCommand, unavailable_group

daemon = UnavailableCommand("daemon", "Run the daemon in the foreground.")
chat = UnavailableCommand("chat", "Talk to an agent from the terminal.")
cron = unavailable_group(
    "cron",
    "Scheduled prompts.",
    {
        "add": "Add a scheduled prompt.",
        "list": "List scheduled prompts.",
        "rm": "Remove a scheduled prompt.",
        "run": "Run a scheduled prompt now.",
    },
)
grants = unavailable_group(
    "grants",
    "Tool permissions.",
    {"list": "List grants.", "revoke": "Revoke a grant."},
)
approvals = unavailable_group(
    "approvals",
    "Pending approval requests.",
    {
        "list": "List pending approvals.",
        "approve": "Approve a request.",
        "deny": "Deny a request.",
    },
)
tools = unavailable_group("tools", "Available tools.", {"list": "List tools."})
eval_group = unavailable_group(
    "eval", "Replay recorded sessions as regression checks.", {"replay": "Replay sessions."}
)
