"""Typed settings of the network tools (``[tools.http_fetch]``, ``[tools.weather]``, ``[tools.browser]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from pyclaw.meta import ConfigError
from pyclaw.os._netguard import HostAllowList, NetPolicy

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def load_settings(
    model: type[SettingsT], tool_name: str, settings: Mapping[str, JsonValue]
) -> SettingsT:
    """Validate one tool's settings; a bad value is a ``ConfigError`` naming ``tools.<name>.<key>``."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in ("tools", tool_name, *first["loc"]))
        raise ConfigError(first["msg"], key=key) from None


class HostKeys(BaseModel):
    """Keys every ``[tools.<name>]`` table may hold that the tool host reads itself: the whole
    call's deadline and the output cap. Accepted here so a strict settings model does not reject
    them; the tools below never read them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float | None = Field(default=None, gt=0)
    max_output_chars: int | None = Field(default=None, gt=0)


class NetAccessSettings(HostKeys):
    """Which non-public destinations a network tool may reach (default: none)."""

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()

    @field_validator("allow_hosts")
    @classmethod
    def _valid_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        HostAllowList.parse(value)  # raises ValueError with the bad entry
        return value

    def policy(self, tool_name: str) -> NetPolicy:
        return NetPolicy(
            allow_private=self.allow_private,
            allow_hosts=HostAllowList.parse(self.allow_hosts),
            settings_key=f"tools.{tool_name}",
        )


class HttpFetchSettings(NetAccessSettings):
    """``[tools.http_fetch]``: access rules, fetch deadline, redirect limit and user agent."""

    request_timeout_s: float = Field(default=20.0, gt=0, le=300)
    max_redirects: int = Field(default=5, ge=0, le=10)
    user_agent: str = "PyClaw-http_fetch/0.1"


class WeatherSettings(HostKeys):
    """``[tools.weather]``: Open-Meteo endpoints, cache lifetime, rate limit, request timeout."""

    geocoding_url: str = "https://geocoding-api.open-meteo.com/v1/search"
    forecast_url: str = "https://api.open-meteo.com/v1/forecast"
    cache_ttl_s: float = Field(default=600.0, ge=0)
    rate_limit_per_min: int = Field(default=10, ge=1)
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    language: str = "en"
