"""Reading and writing ``pyclaw.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pyclaw.meta import ConfigError, atomic_write_text
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._config_errors import toml_syntax_error, validation_error
from pyclaw.runtime._toml_write import render_toml


def default_config() -> PyClawConfig:
    """The configuration used when there is no ``pyclaw.toml``: the local model, agent ``default``."""
    return PyClawConfig.model_validate({})


def parse_config(text: str, path: Path | None = None) -> PyClawConfig:
    """Validate TOML text; every failure is a one-line ``ConfigError`` naming file, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_syntax_error(path or Path("<config>"), exc) from None
    return config_from_data(data, path=path, text=text)


def config_from_data(
    data: dict[str, Any], *, path: Path | None = None, text: str = ""
) -> PyClawConfig:
    try:
        return PyClawConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, text, exc) from None


def load_config(path: Path, *, missing_ok: bool = True) -> PyClawConfig:
    """Load ``path``; without the file, the built-in defaults (or ``ConfigError`` if not ``missing_ok``)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return default_config()
        raise ConfigError("no such file", file=str(path), hint="run 'pyclaw init'") from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    return parse_config(text, path)


def write_config(path: Path, data: dict[str, Any], *, overwrite: bool = False) -> PyClawConfig:
    """Validate ``data``, then write it as TOML atomically with mode 0600.

    Refuses to replace an existing file unless ``overwrite``; on any error the old file is untouched.
    """
    text = render_toml(data)
    config = parse_config(text, path)  # what we write must load back to the same config
    if path.exists() and not overwrite:
        raise ConfigError(
            "already exists; refusing to overwrite it", file=str(path), hint="use --force"
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return config
