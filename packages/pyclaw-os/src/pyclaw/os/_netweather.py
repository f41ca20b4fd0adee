"""Open-Meteo: geocoding a place name, fetching current and daily weather, rendering it as text.

Response shapes follow https://open-meteo.com/en/docs and /en/docs/geocoding-api: geocoding
answers ``{"results": [...]}`` (no ``results`` key when nothing matched), the forecast answers
``current``/``current_units`` and ``daily``/``daily_units``, errors are ``{"error": true, "reason"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import cast

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from pyclaw.meta import ToolError

CURRENT_FIELDS = (
    "temperature_2m",
    "apparent_temperature",
    "relative_humidity_2m",
    "precipitation",
    "weather_code",
    "wind_speed_10m",
)
DAILY_FIELDS = (
    "weather_code",
    "temperature_2m_min",
    "temperature_2m_max",
    "precipitation_sum",
    "precipitation_probability_max",
    "wind_speed_10m_max",
)

WMO_CODES: Mapping[int, str] = {
    0: "Clear sky", 1: "Mainly clear", 2: "Partly cloudy", 3: "Overcast",
    45: "Fog", 48: "Depositing rime fog",
    51: "Light drizzle", 53: "Moderate drizzle", 55: "Dense drizzle",
    56: "Light freezing drizzle", 57: "Dense freezing drizzle",
    61: "Slight rain", 63: "Moderate rain", 65: "Heavy rain",
    66: "Light freezing rain", 67: "Heavy freezing rain",
    71: "Slight snowfall", 73: "Moderate snowfall", 75: "Heavy snowfall", 77: "Snow grains",
    80: "Slight rain showers", 81: "Moderate rain showers", 82: "Violent rain showers",
    85: "Slight snow showers", 86: "Heavy snow showers",
    95: "Thunderstorm", 96: "Thunderstorm with slight hail", 99: "Thunderstorm with heavy hail",
}  # fmt: skip

_COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")

Scalar = float | int | str | None


class Place(BaseModel):
    """A geocoding result (the fields PyClaw uses)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    latitude: float
    longitude: float
    country: str | None = None
    country_code: str | None = None
    admin1: str | None = None
    admin2: str | None = None
    timezone: str | None = None

    @property
    def label(self) -> str:
        parts = [self.name]
        parts += [p for p in (self.admin1, self.country) if p and p != self.name]
        return ", ".join(parts)

    def matches(self, qualifier: str) -> bool:
        q = qualifier.casefold()
        fields = (self.country, self.country_code, self.admin1, self.admin2)
        return any(f is not None and f.casefold().startswith(q) for f in fields)


class _GeoAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    results: list[Place] = []


class Forecast(BaseModel):
    """A forecast answer: current values, daily series and their units."""

    model_config = ConfigDict(extra="ignore")

    timezone: str | None = None
    current_units: dict[str, str] = {}
    current: dict[str, Scalar] = {}
    daily_units: dict[str, str] = {}
    daily: dict[str, list[Scalar]] = {}


async def _get_json(client: httpx.AsyncClient, url: str, params: Mapping[str, str | int]) -> object:
    try:
        response = await client.get(url, params=params)
    except httpx.TimeoutException as exc:
        raise ToolError(f"the weather service timed out ({url})") from exc
    except httpx.HTTPError as exc:
        raise ToolError(f"the weather service is unreachable: {exc}") from exc
    try:
        data: object = response.json()
    except ValueError:
        data = None
    if response.status_code != 200:
        reason = cast("dict[str, object]", data).get("reason") if isinstance(data, dict) else None
        raise ToolError(
            f"the weather service answered {response.status_code}: {reason or response.reason_phrase}"
        )
    if data is None:
        raise ToolError("the weather service sent a body that is not JSON")
    return data


async def geocode(client: httpx.AsyncClient, url: str, location: str, language: str) -> Place:
    """The place a user means: ``"52.5, 13.4"``, ``"Paris"`` or ``"Paris, Texas"``."""
    coords = _COORDS.match(location)
    if coords:
        lat, lon = float(coords[1]), float(coords[2])
        if abs(lat) <= 90 and abs(lon) <= 180:
            return Place(name=f"{lat:g}, {lon:g}", latitude=lat, longitude=lon)
    name, *qualifiers = [p.strip() for p in location.split(",") if p.strip()]
    params = {"name": name, "count": 10, "language": language, "format": "json"}
    try:
        answer = _GeoAnswer.model_validate(await _get_json(client, url, params))
    except ValidationError as exc:
        raise ToolError("the geocoding service sent an unexpected answer") from exc
    places = [p for p in answer.results if all(p.matches(q) for q in qualifiers)]
    if not places:
        raise ToolError(
            f"no place named {location!r} was found",
            hint="try a city name, optionally with its country, e.g. 'Paris, France'",
        )
    return places[0]


async def forecast(client: httpx.AsyncClient, url: str, place: Place, days: int) -> Forecast:
    params: dict[str, str | int] = {
        "latitude": f"{place.latitude:.4f}",
        "longitude": f"{place.longitude:.4f}",
        "current": ",".join(CURRENT_FIELDS),
        "daily": ",".join(DAILY_FIELDS),
        "timezone": "auto",
        "forecast_days": days,
    }
    try:
        return Forecast.model_validate(await _get_json(client, url, params))
    except ValidationError as exc:
        raise ToolError("the forecast service sent an unexpected answer") from exc


def _value(value: Scalar, unit: str | None) -> str | None:
    if value is None:
        return None
    return f"{value}" if not unit else f"{value} {unit}"


def _sky(code: Scalar) -> str:
    if isinstance(code, int | float):
        return WMO_CODES.get(int(code), f"weather code {int(code)}")
    return "Unknown conditions"


def render(place: Place, data: Forecast, days: int) -> str:
    """A few readable lines: where, now, then one line per day (units as Open-Meteo sent them)."""
    zone = data.timezone or place.timezone
    where = f"{place.label} ({place.latitude:.2f}, {place.longitude:.2f}" + (
        f"; {zone})" if zone else ")"
    )
    lines = [f"Weather for {where}"]
    cur, cu = data.current, data.current_units
    if cur:
        parts = [_sky(cur.get("weather_code"))]
        temp = _value(cur.get("temperature_2m"), cu.get("temperature_2m"))
        feels = _value(cur.get("apparent_temperature"), cu.get("apparent_temperature"))
        if temp:
            parts.append(temp + (f" (feels like {feels})" if feels else ""))
        for label, key in (
            ("humidity", "relative_humidity_2m"),
            ("wind", "wind_speed_10m"),
            ("precipitation", "precipitation"),
        ):
            shown = _value(cur.get(key), cu.get(key))
            if shown:
                parts.append(f"{label} {shown}")
        when = f" ({cur['time']})" if cur.get("time") else ""
        lines.append(f"Now{when}: " + ", ".join(parts))
    lines.extend(_daily_lines(data.daily, data.daily_units, days))
    return "\n".join(lines)


def _daily_lines(
    daily: Mapping[str, Sequence[Scalar]], units: Mapping[str, str], days: int
) -> list[str]:
    dates = list(daily.get("time", []))[:days]
    if not dates:
        return []
    lines = [f"Forecast ({len(dates)} day{'s' if len(dates) > 1 else ''}):"]

    def at(key: str, i: int) -> Scalar:
        series = daily.get(key, [])
        return series[i] if i < len(series) else None

    for i, day in enumerate(dates):
        parts = [_sky(at("weather_code", i))]
        low, high = at("temperature_2m_min", i), at("temperature_2m_max", i)
        if low is not None and high is not None:
            parts.append(f"{low} to {_value(high, units.get('temperature_2m_max'))}")
        rain = _value(at("precipitation_sum", i), units.get("precipitation_sum"))
        chance = at("precipitation_probability_max", i)
        if rain:
            parts.append(
                f"precipitation {rain}" + (f" ({chance}% chance)" if chance is not None else "")
            )
        wind = _value(at("wind_speed_10m_max", i), units.get("wind_speed_10m_max"))
        if wind:
            parts.append(f"wind up to {wind}")
        lines.append(f"- {day}: " + ", ".join(parts))
    return lines
