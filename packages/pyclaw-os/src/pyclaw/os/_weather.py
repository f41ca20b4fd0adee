"""The ``weather`` tool: current weather and a daily forecast from Open-Meteo, cached and rate-limited.

Answers are cached per (normalized location, days) for ``cache_ttl_s`` (default 10 minutes). Calls
that miss the cache take a token from a bucket of ``rate_limit_per_min`` (default 10) refilled
continuously; when it is empty the call fails at once with a ``WeatherRateLimitError`` saying
when to retry (it does not wait: a tool call should not stall the agent loop silently).
"""

from __future__ import annotations

import time
from math import ceil

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pyclaw.meta import RiskLevel, ToolError
from pyclaw.os._netfetch import default_ssl_context
from pyclaw.os._netlimits import Clock, TokenBucket, TTLCache
from pyclaw.os._netsettings import WeatherSettings, load_settings
from pyclaw.os._netweather import forecast, geocode, render
from pyclaw.os._tool import Tool, ToolEnv, ToolRun


class WeatherRateLimitError(ToolError):
    """Too many uncached weather lookups in the last minute."""

    retryable = True


class WeatherArgs(BaseModel):
    """Arguments of ``weather``."""

    model_config = ConfigDict(extra="forbid")

    location: str = Field(
        min_length=1,
        max_length=200,
        description="A place name ('Berlin', 'Paris, Texas') or 'latitude, longitude'.",
    )
    days: int = Field(default=3, ge=1, le=7, description="Days of daily forecast, 1 to 7.")


def _cache_key(args: WeatherArgs) -> tuple[str, int]:
    return " ".join(args.location.casefold().replace(" ,", ",").split()), args.days


class WeatherTool(Tool[WeatherArgs]):
    """``weather``: Open-Meteo (no API key) with a TTL cache and a token-bucket rate limit."""

    name = "weather"
    description = (
        "Current weather and a daily forecast (1-7 days) for a place name or coordinates, "
        "with units: temperature, feels-like, humidity, wind, precipitation."
    )
    args_model = WeatherArgs
    risk = RiskLevel.MODERATE
    timeout_s = 30.0

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, clock: Clock = time.monotonic
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._cache: TTLCache[str] = TTLCache(600.0, clock=clock)
        self._bucket = TokenBucket(10, clock=clock)
        self.upstream_requests = 0  # lookups that reached Open-Meteo (cache misses)

    def _configure(self, settings: WeatherSettings) -> None:
        self._cache.ttl_s = settings.cache_ttl_s
        if self._bucket.capacity != settings.rate_limit_per_min:
            self._bucket = TokenBucket(settings.rate_limit_per_min, clock=self._clock)

    async def run(self, args: WeatherArgs, run: ToolRun) -> str:
        settings = load_settings(WeatherSettings, self.name, run.env.settings_for(self.name))
        self._configure(settings)
        key = _cache_key(args)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        wait = self._bucket.try_take()
        if wait > 0:
            raise WeatherRateLimitError(
                f"weather rate limit reached ({settings.rate_limit_per_min} lookups per minute); "
                f"try again in {ceil(wait)} s"
            )
        self.upstream_requests += 1
        async with httpx.AsyncClient(
            transport=self._transport,
            verify=default_ssl_context(),
            timeout=settings.request_timeout_s,
            headers={"User-Agent": "PyClaw-weather/0.1"},
        ) as client:
            place = await geocode(client, settings.geocoding_url, args.location, settings.language)
            data = await forecast(client, settings.forecast_url, place, args.days)
        text = render(place, data, args.days)
        self._cache.put(key, text)
        return text


def weather_tool(env: ToolEnv) -> WeatherTool:
    """A ``ToolFactory`` for the built-in ``weather`` (settings are read per call from ``env``)."""
    del env
    return WeatherTool()
