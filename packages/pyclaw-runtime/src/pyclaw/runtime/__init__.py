"""PyClaw's composition root: the home directory, ``pyclaw.toml``, logging, wiring and the CLI.

Public names are loaded on first access (PEP 562), so ``import pyclaw.runtime.cli`` (and thus
``pyclaw --help``) does not pay for pydantic, SQLite or rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyclaw.runtime._config import (
        BUILTIN_TOOLS,
        PROVIDER_KINDS,
        AgentConfig,
        CronConfig,
        ProviderConfig,
        PyClawConfig,
        TelegramConfig,
    )
    from pyclaw.runtime._config_load import (
        config_from_data,
        default_config,
        load_config,
        parse_config,
        write_config,
    )
    from pyclaw.runtime._home import PyClawHome
    from pyclaw.runtime._logging import add_redaction, configure_logging, get_logger
    from pyclaw.runtime._services import (
        Services,
        open_database,
        open_services,
        secret_store,
    )
    from pyclaw.runtime.cli import main, run

_EXPORTS: dict[str, str] = {
    "BUILTIN_TOOLS": "_config",
    "PROVIDER_KINDS": "_config",
    "AgentConfig": "_config",
    "CronConfig": "_config",
    "ProviderConfig": "_config",
    "PyClawConfig": "_config",
    "TelegramConfig": "_config",
    "config_from_data": "_config_load",
    "default_config": "_config_load",
    "load_config": "_config_load",
    "parse_config": "_config_load",
    "write_config": "_config_load",
    "PyClawHome": "_home",
    "add_redaction": "_logging",
    "configure_logging": "_logging",
    "get_logger": "_logging",
    "Services": "_services",
    "open_database": "_services",
    "open_services": "_services",
    "secret_store": "_services",
    "main": "cli",
    "run": "cli",
}

__all__ = [
    "BUILTIN_TOOLS",
    "PROVIDER_KINDS",
    "AgentConfig",
    "CronConfig",
    "ProviderConfig",
    "PyClawConfig",
    "PyClawHome",
    "Services",
    "TelegramConfig",
    "add_redaction",
    "config_from_data",
    "configure_logging",
    "default_config",
    "get_logger",
    "load_config",
    "main",
    "open_database",
    "open_services",
    "parse_config",
    "run",
    "secret_store",
    "write_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pyclaw.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pyclaw.runtime.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
