"""What exists of pyclaw-eval so far: an importable, honest skeleton with one dependency."""

from __future__ import annotations

import importlib
import importlib.metadata
import re

import pyclaw.meta


def requirement_names(dist: str) -> list[str]:
    """Names of the distribution's required (non-extra) dependencies, normalized."""
    names: list[str] = []
    for req in importlib.metadata.requires(dist) or []:
        if re.search(r"extra\s*==", req):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        assert match is not None, req
        names.append(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return sorted(names)


def test_package_imports_and_exports_nothing_yet() -> None:
    module = importlib.import_module("pyclaw.eval")
    assert module.__all__ == []
    assert module.__doc__ is not None
    assert "Not implemented yet" in module.__doc__
    assert "#7" in module.__doc__


def test_declared_dependencies_are_exactly_pyclaw_meta() -> None:
    assert requirement_names("pyclaw-eval") == ["pyclaw-meta"]


def test_the_contracts_it_will_use_exist() -> None:
    for name in ("SessionLog", "LLMProvider", "ToolHost", "Brain"):
        assert name in pyclaw.meta.__all__
