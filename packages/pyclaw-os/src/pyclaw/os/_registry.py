"""The tool registry: name → tool, with third-party tools from the ``pyclaw.tools`` entry points.

An entry point may name a ``Tool`` instance, a ``Tool`` subclass (instantiated without
arguments) or a ``ToolFactory`` (called with the host's ``ToolEnv``, returning one tool or
several). A plug-in that fails to import, build or register is reported as a ``ToolLoadError``
naming the entry point; it never takes the host down. Plug-ins are not loaded under pytest
unless the caller asks (``under_pytest=True``), so a developer's installed plug-ins cannot leak
into a test run.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from pyclaw.meta import ToolSpec
from pyclaw.os._errors import ToolLoadError
from pyclaw.os._tool import Tool, ToolEnv

ENTRY_POINT_GROUP = "pyclaw.tools"

logger = logging.getLogger("pyclaw.os")


@dataclass(frozen=True)
class PluginLoad:
    """What ``load_entry_points`` did: the tool names it added and the plug-ins that failed."""

    loaded: tuple[str, ...] = ()
    errors: tuple[ToolLoadError, ...] = ()
    skipped: bool = False


def running_under_pytest() -> bool:
    return "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules


class ToolRegistry:
    """Tools by name. A second tool with a name already taken is refused."""

    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        self._specs: dict[str, ToolSpec] = {}
        for item in tools:
            self.add(item)

    def add(self, tool: Tool[Any]) -> None:
        """Register ``tool``; raises ``ToolLoadError`` on a duplicate name or a broken spec."""
        if not isinstance(cast("object", tool), Tool):  # plug-ins are untyped: check anyway
            raise ToolLoadError(f"not a Tool: {tool!r}")
        name = tool.name
        if name in self._tools:
            raise ToolLoadError(f"a tool named {name!r} is already registered")
        try:
            spec = tool.spec()
        except Exception as exc:
            raise ToolLoadError(f"tool {name!r} has an invalid spec: {exc}") from exc
        self._tools[name] = tool
        self._specs[name] = spec

    def get(self, name: str) -> Tool[Any] | None:
        return self._tools.get(name)

    def spec(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def specs(self) -> list[ToolSpec]:
        return list(self._specs.values())

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool[Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def load_entry_points(
        self, env: ToolEnv, *, group: str = ENTRY_POINT_GROUP, under_pytest: bool = False
    ) -> PluginLoad:
        """Register every tool the ``group`` entry points provide; failures are returned (and
        logged), never raised."""
        if running_under_pytest() and not under_pytest:
            return PluginLoad(skipped=True)
        loaded: list[str] = []
        errors: list[ToolLoadError] = []
        for point in sorted(entry_points(group=group), key=lambda ep: ep.name):
            try:
                for item in _tools_of(point, env):
                    self.add(item)
                    loaded.append(item.name)
            except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the host
                error = ToolLoadError(f"plug-in {_label(point)} failed to load: {_reason(exc)}")
                logger.warning("%s", error)
                errors.append(error)
        return PluginLoad(loaded=tuple(loaded), errors=tuple(errors))


def _label(point: EntryPoint) -> str:
    return f"{point.name!r} ({point.value}) of {point.group!r}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ToolLoadError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _tools_of(point: EntryPoint, env: ToolEnv) -> list[Tool[Any]]:
    return tools_from(point.load(), env)


def tools_from(obj: object, env: ToolEnv) -> list[Tool[Any]]:
    """The tools a plug-in object stands for: a ``Tool``, a ``Tool`` subclass (built without
    arguments) or a ``ToolFactory`` called with ``env``. Raises ``ToolLoadError`` otherwise."""
    if isinstance(obj, Tool):
        return [cast("Tool[Any]", obj)]
    if inspect.isclass(obj):
        if issubclass(obj, Tool):
            return [cast("type[Tool[Any]]", obj)()]
        raise ToolLoadError(f"it names the class {obj.__name__}, not a Tool subclass")
    if not callable(obj):
        raise ToolLoadError(
            f"it names an object of type {type(obj).__name__}, not a Tool, Tool class or factory"
        )
    made = cast("Callable[[ToolEnv], object]", obj)(env)
    if isinstance(made, Tool):
        return [cast("Tool[Any]", made)]
    if isinstance(made, Iterable) and not isinstance(made, str | bytes):
        items: list[object] = list(cast("Iterable[object]", made))
        tools = [cast("Tool[Any]", item) for item in items if isinstance(item, Tool)]
        if len(tools) == len(items):
            return tools
    kind = type(cast("object", made)).__name__
    raise ToolLoadError(f"its factory returned {kind}, not Tool(s)")
