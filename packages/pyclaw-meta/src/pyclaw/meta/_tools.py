"""Tool calls, tool results and tool specifications."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, JsonValue

from pyclaw.meta._artifact import ArtifactRef
from pyclaw.meta._base import Model, canonical_json, new_id, sha256_hex
from pyclaw.meta._errors import ErrorInfo


class RiskLevel(StrEnum):
    """How much harm a tool can do. The policy engine asks before ``risky`` and ``dangerous`` tools."""

    SAFE = "safe"  # reads inside the workspace, pure computation
    MODERATE = "moderate"  # writes inside the workspace, outbound reads
    RISKY = "risky"  # shell, browser, anything leaving the machine
    DANGEROUS = "dangerous"  # irreversible or privileged actions


class ToolSpec(Model):
    """What the model is told about a tool: name, description and a JSON Schema for its arguments."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
    description: str
    parameters: dict[str, JsonValue] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    risk: RiskLevel = RiskLevel.SAFE


class ToolCall(Model):
    """One call the model asked for. ``raw_arguments`` keeps the text when it was not valid JSON."""

    id: str = Field(default_factory=lambda: new_id("call"))
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    raw_arguments: str | None = None

    @property
    def call_hash(self) -> str:
        """sha256 over tool name and canonical arguments: binds an approval to this exact call."""
        body = {"name": self.name, "arguments": self.arguments, "raw": self.raw_arguments}
        return sha256_hex(canonical_json(body))


ToolStatus = Literal["ok", "error", "denied", "cancelled", "timeout", "uncertain"]


class ToolResult(Model):
    """The standardized outcome of a tool call.

    ``status`` is ``uncertain`` when a call started but its completion was never recorded (a crash):
    the side effect may or may not have happened. ``untrusted`` marks content from outside the
    machine's control (web pages, files, HTTP bodies).
    """

    call_id: str
    name: str
    status: ToolStatus = "ok"
    content: str = ""
    artifacts: tuple[ArtifactRef, ...] = ()
    error: ErrorInfo | None = None
    untrusted: bool = False
    truncated: bool = False
    duration_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"
