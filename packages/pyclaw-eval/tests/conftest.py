"""Loads ``minibrain.py`` under the unique module name ``pyclaw_eval_minibrain`` so tests can
import its helpers under ``--import-mode=importlib``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load() -> None:
    name = "pyclaw_eval_minibrain"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("minibrain.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load()
