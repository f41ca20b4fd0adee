"""How a tool is written: a pydantic model for its arguments, policy metadata and an async executor.

A tool is a ``Tool`` subclass (or an async function under ``@tool``). The host validates the
model's arguments against ``args_model`` before calling ``run``, bounds the call with
``timeout_s``, caps the output at ``max_output_chars`` (the whole output goes to an artifact) and
turns whatever happens into a standardized ``ToolResult``. A tool reports a failure the model
should see by raising ``ToolError`` (or returning ``ToolOutput(is_error=True)``).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast, get_type_hints

from pydantic import BaseModel, JsonValue

from pyclaw.meta import (
    ArtifactRef,
    ArtifactStore,
    Delegator,
    MemoryStore,
    Redactor,
    RiskLevel,
    ToolContext,
    ToolSpec,
)

ArgsT = TypeVar("ArgsT", bound=BaseModel)


@dataclass(frozen=True)
class ToolEnv:
    """What the host gives every tool it builds: the workspace and the shared services.

    ``settings`` holds each tool's own configuration by tool name (``[tools.<name>]`` in
    ``pyclaw.toml``), e.g. ``{"exec": {"timeout_s": 60}}``. ``delegator`` is the remote network
    the ``delegate`` tool hands sub-tasks to (a Cortensor router); ``redactor`` removes secrets
    from what a tool sends off the machine.
    """

    workspace: Path
    artifacts: ArtifactStore | None = None
    memory: MemoryStore | None = None
    delegator: Delegator | None = None
    redactor: Redactor | None = None
    settings: Mapping[str, Mapping[str, JsonValue]] = field(
        default_factory=dict[str, Mapping[str, JsonValue]]
    )

    def settings_for(self, tool_name: str) -> Mapping[str, JsonValue]:
        return self.settings.get(tool_name, {})


@dataclass(frozen=True)
class ToolRun:
    """One execution: who asked (``context``) and the environment the tool runs in."""

    context: ToolContext
    env: ToolEnv

    @property
    def workspace(self) -> Path:
        """The agent's workspace directory (the context's, else the environment's)."""
        if self.context.workspace is not None:
            return Path(self.context.workspace)
        return self.env.workspace


@dataclass(frozen=True)
class ToolOutput:
    """What an executor returns when plain text is not enough.

    ``untrusted`` marks content from outside the machine's control (a web page, a file, an HTTP
    body); ``is_error`` reports a failure the model should see and react to.
    """

    content: str
    artifacts: tuple[ArtifactRef, ...] = ()
    untrusted: bool = False
    is_error: bool = False


class Tool(ABC, Generic[ArgsT]):
    """A tool: name, description, argument model, risk level, limits, and ``run``.

    Subclasses set the class attributes and implement ``run``. ``untrusted = True`` marks every
    output of the tool as untrusted (file and web readers) without each return saying so.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    args_model: type[ArgsT]
    risk: ClassVar[RiskLevel] = RiskLevel.SAFE
    timeout_s: float = 30.0
    max_output_chars: int = 16_000
    untrusted: ClassVar[bool] = False

    def spec(self) -> ToolSpec:
        """What the model is told: name, description, the JSON Schema of ``args_model``, risk."""
        schema = cast("dict[str, JsonValue]", self.args_model.model_json_schema())
        schema.pop("title", None)
        return ToolSpec(
            name=self.name, description=self.description, parameters=schema, risk=self.risk
        )

    @abstractmethod
    async def run(self, args: ArgsT, run: ToolRun) -> str | ToolOutput:
        """Do the work. Raise ``ToolError`` for a failure the model should see."""


ToolFunction = Callable[[Any, ToolRun], Awaitable[str | ToolOutput]]


class FunctionTool(Tool[BaseModel]):
    """A tool made from an async function ``f(args, run)`` by ``@tool``."""

    def __init__(
        self,
        fn: ToolFunction,
        *,
        name: str,
        description: str,
        args_model: type[BaseModel],
        risk: RiskLevel,
        timeout_s: float,
        max_output_chars: int,
        untrusted: bool,
    ) -> None:
        self._fn = fn
        self._name = name
        self._description = description
        self.args_model = args_model
        self._risk = risk
        self.timeout_s = timeout_s
        self.max_output_chars = max_output_chars
        self._untrusted = untrusted

    # Instance values shadow the class-level declarations for function tools.
    @property
    def name(self) -> str:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self._name

    @property
    def description(self) -> str:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self._description

    @property
    def risk(self) -> RiskLevel:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self._risk

    @property
    def untrusted(self) -> bool:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self._untrusted

    async def run(self, args: BaseModel, run: ToolRun) -> str | ToolOutput:
        return await self._fn(args, run)


def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    risk: RiskLevel = RiskLevel.SAFE,
    timeout_s: float = 30.0,
    max_output_chars: int = 16_000,
    untrusted: bool = False,
) -> Callable[[ToolFunction], FunctionTool]:
    """Make a tool from ``async def f(args: SomeModel, run: ToolRun) -> str | ToolOutput``.

    The argument model is taken from the first parameter's annotation; the description defaults
    to the function's docstring and the name to the function's name.
    """

    def wrap(fn: ToolFunction) -> FunctionTool:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@tool needs an async function, got {fn!r}")
        params = list(inspect.signature(fn).parameters)
        hints = get_type_hints(fn)
        model = hints.get(params[0]) if params else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{fn.__name__}: the first parameter must be a pydantic model")
        doc = description or inspect.getdoc(fn)
        if not doc:
            raise TypeError(f"{fn.__name__}: give a description or a docstring")
        return FunctionTool(
            fn,
            name=name or fn.__name__,
            description=doc,
            args_model=model,
            risk=risk,
            timeout_s=timeout_s,
            max_output_chars=max_output_chars,
            untrusted=untrusted,
        )

    return wrap


ToolFactory = Callable[[ToolEnv], "Tool[Any] | Iterable[Tool[Any]]"]
"""What a ``pyclaw.tools`` entry point may name besides a ``Tool``: a callable building tools
from the host's ``ToolEnv`` (so a plug-in gets the workspace and services)."""
