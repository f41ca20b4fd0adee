"""weather: against a fake Open-Meteo on 127.0.0.1 speaking the real JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pyclaw_os_fakes import LoopbackHTTPServer
from pydantic import ValidationError

from pyclaw.meta import RiskLevel, ToolContext, ToolError
from pyclaw.os._tool import ToolEnv, ToolRun
from pyclaw.os._weather import WeatherArgs, WeatherRateLimitError, WeatherTool

BERLIN = {
    "id": 2950159,
    "name": "Berlin",
    "latitude": 52.52437,
    "longitude": 13.41053,
    "elevation": 74.0,
    "feature_code": "PPLC",
    "country_code": "DE",
    "admin1_id": 2950157,
    "timezone": "Europe/Berlin",
    "population": 3426354,
    "country_id": 2921044,
    "country": "Germany",
    "admin1": "Land Berlin",
}
PARIS_FR = {
    "id": 2988507,
    "name": "Paris",
    "latitude": 48.85341,
    "longitude": 2.3488,
    "country_code": "FR",
    "timezone": "Europe/Paris",
    "country": "France",
    "admin1": "Île-de-France",
}
PARIS_TX = {
    "id": 4717560,
    "name": "Paris",
    "latitude": 33.66094,
    "longitude": -95.55551,
    "country_code": "US",
    "timezone": "America/Chicago",
    "country": "United States",
    "admin1": "Texas",
}
PLACES = {"berlin": [BERLIN], "paris": [PARIS_FR, PARIS_TX]}


def forecast_body(lat: float, lon: float, days: int) -> dict[str, Any]:
    """The shape of https://api.open-meteo.com/v1/forecast with current= and daily= set."""
    dates = [f"2026-11-{22 + i:02d}" for i in range(days)]
    return {
        "latitude": lat,
        "longitude": lon,
        "generationtime_ms": 0.08,
        "utc_offset_seconds": 3600,
        "timezone": "Europe/Berlin",
        "timezone_abbreviation": "GMT+1",
        "elevation": 38.0,
        "current_units": {
            "time": "iso8601",
            "interval": "seconds",
            "temperature_2m": "°C",
            "apparent_temperature": "°C",
            "relative_humidity_2m": "%",
            "precipitation": "mm",
            "weather_code": "wmo code",
            "wind_speed_10m": "km/h",
        },
        "current": {
            "time": "2026-11-22T14:00",
            "interval": 900,
            "temperature_2m": 4.3,
            "apparent_temperature": 0.9,
            "relative_humidity_2m": 81,
            "precipitation": 0.0,
            "weather_code": 2,
            "wind_speed_10m": 14.8,
        },
        "daily_units": {
            "time": "iso8601",
            "weather_code": "wmo code",
            "temperature_2m_min": "°C",
            "temperature_2m_max": "°C",
            "precipitation_sum": "mm",
            "precipitation_probability_max": "%",
            "wind_speed_10m_max": "km/h",
        },
        "daily": {
            "time": dates,
            "weather_code": [61, 3, 71, 0, 45, 95, 80][:days],
            "temperature_2m_min": [1.2, -0.4, -2.0, 0.0, 1.0, 2.0, 3.0][:days],
            "temperature_2m_max": [5.6, 4.1, 1.0, 3.0, 4.0, 5.0, 6.0][:days],
            "precipitation_sum": [2.3, 0.0, 4.1, 0.0, 0.1, 9.0, 1.0][:days],
            "precipitation_probability_max": [70, 10, 85, 0, 5, 90, 40][:days],
            "wind_speed_10m_max": [20.5, 11.2, 9.0, 8.0, 7.0, 30.0, 12.0][:days],
        },
    }


class FakeOpenMeteo:
    """Both endpoints on one loopback server; ``requests`` lists (path, query) as received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.requests.append((parts.path, query))
                status, body = outer.answer(parts.path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackHTTPServer(Handler)
        self.base = f"http://127.0.0.1:{self._server.port}"

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == "/v1/search":
            results = PLACES.get(query["name"].casefold())
            return 200, {"results": results, "generationtime_ms": 0.5} if results else {
                "generationtime_ms": 0.4
            }
        if path == "/v1/forecast":
            days = int(query["forecast_days"])
            if days > 16:
                return 400, {
                    "error": True,
                    "reason": "Forecast days is invalid. Allowed range 0 to 16.",
                }
            return 200, forecast_body(float(query["latitude"]), float(query["longitude"]), days)
        return 404, {"error": True, "reason": "Not Found"}

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def meteo() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo()
    yield server
    server.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_run(tmp_path: Path, meteo: FakeOpenMeteo, **settings: Any) -> ToolRun:
    conf = {
        "geocoding_url": f"{meteo.base}/v1/search",
        "forecast_url": f"{meteo.base}/v1/forecast",
        **settings,
    }
    env = ToolEnv(workspace=tmp_path, settings={"weather": conf})
    return ToolRun(context=ToolContext(session_id="ses_1", agent="main"), env=env)


async def test_current_and_daily_weather_with_units(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    tool = WeatherTool()
    assert tool.spec().risk is RiskLevel.MODERATE
    text = await tool.run(WeatherArgs(location="Berlin", days=2), make_run(tmp_path, meteo))
    assert text.splitlines() == [
        "Weather for Berlin, Land Berlin, Germany (52.52, 13.41; Europe/Berlin)",
        "Now (2026-11-22T14:00): Partly cloudy, 4.3 °C (feels like 0.9 °C), humidity 81 %, "
        "wind 14.8 km/h, precipitation 0.0 mm",
        "Forecast (2 days):",
        "- 2026-11-22: Slight rain, 1.2 to 5.6 °C, precipitation 2.3 mm (70% chance), "
        "wind up to 20.5 km/h",
        "- 2026-11-23: Overcast, -0.4 to 4.1 °C, precipitation 0.0 mm (10% chance), "
        "wind up to 11.2 km/h",
    ]
    (geo_path, geo_q), (fc_path, fc_q) = meteo.requests
    assert (geo_path, geo_q["name"], geo_q["count"]) == ("/v1/search", "Berlin", "10")
    assert fc_path == "/v1/forecast"
    assert (fc_q["latitude"], fc_q["longitude"], fc_q["forecast_days"]) == (
        "52.5244",
        "13.4105",
        "2",
    )
    assert "temperature_2m" in fc_q["current"].split(",")
    assert "precipitation_sum" in fc_q["daily"].split(",")


async def test_cache_hit_makes_no_request_until_ttl(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    clock = FakeClock()
    tool = WeatherTool(clock=clock)
    run = make_run(tmp_path, meteo)
    first = await tool.run(WeatherArgs(location="Berlin"), run)
    assert len(meteo.requests) == 2
    again = await tool.run(WeatherArgs(location="  berlin "), run)
    assert again == first
    assert len(meteo.requests) == 2  # served from the cache
    await tool.run(WeatherArgs(location="Berlin", days=5), run)  # other days: other key
    assert len(meteo.requests) == 4
    clock.now += 601
    await tool.run(WeatherArgs(location="Berlin"), run)
    assert len(meteo.requests) == 6
    assert tool.upstream_requests == 3


async def test_rate_limit_refuses_then_recovers(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    clock = FakeClock()
    tool = WeatherTool(clock=clock)
    run = make_run(tmp_path, meteo, rate_limit_per_min=2)
    await tool.run(WeatherArgs(location="Berlin"), run)
    await tool.run(WeatherArgs(location="Paris"), run)
    with pytest.raises(WeatherRateLimitError, match=r"2 lookups per minute\); try again in 30 s"):
        await tool.run(WeatherArgs(location="52.5, 13.4"), run)
    assert len(meteo.requests) == 4
    await tool.run(WeatherArgs(location="Berlin"), run)  # cached answers ignore the limit
    clock.now += 30
    text = await tool.run(WeatherArgs(location="52.5, 13.4"), run)
    assert text.startswith("Weather for 52.5, 13.4 (52.50, 13.40; Europe/Berlin)")
    assert meteo.paths()[-1] == "/v1/forecast"  # coordinates skip geocoding
    assert len(meteo.requests) == 5


async def test_unknown_place_is_a_clear_error(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="no place named 'Atlantis' was found") as caught:
        await WeatherTool().run(WeatherArgs(location="Atlantis"), make_run(tmp_path, meteo))
    assert "Paris, France" in str(caught.value)  # the hint
    assert meteo.paths() == ["/v1/search"]
    with pytest.raises(ToolError, match="no place named 'Paris, Narnia'"):
        await WeatherTool().run(WeatherArgs(location="Paris, Narnia"), make_run(tmp_path, meteo))


async def test_qualifier_picks_the_right_place(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    text = await WeatherTool().run(
        WeatherArgs(location="Paris, Texas", days=1), make_run(tmp_path, meteo)
    )
    assert text.startswith("Weather for Paris, Texas, United States (33.66, -95.56")
    assert meteo.requests[1][1]["latitude"] == "33.6609"


async def test_service_errors_are_reported(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    run = make_run(tmp_path, meteo, forecast_url=f"{meteo.base}/v1/nowhere")
    with pytest.raises(ToolError, match="answered 404: Not Found"):
        await WeatherTool().run(WeatherArgs(location="Berlin"), run)
    dead = make_run(
        tmp_path, meteo, geocoding_url="http://127.0.0.1:9/v1/search", request_timeout_s=2
    )
    with pytest.raises(ToolError, match="unreachable"):
        await WeatherTool().run(WeatherArgs(location="Berlin"), dead)


def test_days_are_bounded() -> None:
    with pytest.raises(ValidationError):
        WeatherArgs(location="Berlin", days=8)
    with pytest.raises(ValidationError):
        WeatherArgs(location="Berlin", days=0)
