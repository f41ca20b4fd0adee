"""tool_spec schemas (strict and plain) and parse_tool_args (nulls, errors, malformed JSON)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from pyclaw.llm import is_strict_compatible, parse_tool_args, tool_spec
from pyclaw.meta import ErrorInfo, RiskLevel, ToolCall, ToolSpec, UsageError


class Unit(StrEnum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    """Where."""

    city: str = Field(description="City name", min_length=1)
    country: str | None = None


class GetWeatherArgs(BaseModel):
    """Current weather and a forecast for a place."""

    place: Place
    days: int = Field(default=3, ge=1, le=14, description="Forecast days")
    unit: Unit = Field(default=Unit.CELSIUS, description="Temperature unit")
    title: str = "Weather"  # a property named like the keyword that gets stripped


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


class AdoptArgs(BaseModel):
    """Adopt a pet."""

    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    friends: list[Place] = Field(default_factory=list[Place])


class Node(BaseModel):
    """A tree."""

    children: list[Node] = Field(default_factory=list["Node"])


def walk(schema: object) -> list[dict[str, Any]]:
    """Every schema node (dicts reachable through keywords, not through property names)."""
    nodes: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        node: dict[str, Any] = schema  # pyright: ignore[reportUnknownVariableType]
        nodes.append(node)
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    nodes.extend(walk(sub))
            elif isinstance(value, dict | list):
                nodes.extend(walk(value))
    elif isinstance(schema, list):
        for item in schema:  # pyright: ignore[reportUnknownVariableType]
            nodes.extend(walk(item))
    return nodes


def test_strict_schema_exactly() -> None:
    spec = tool_spec(Place, name="where", description="A place.", risk=RiskLevel.MODERATE)
    assert spec == ToolSpec(
        name="where",
        description="A place.",
        risk=RiskLevel.MODERATE,
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name (length >= 1)"},
                "country": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "default null",
                },
            },
            "required": ["city", "country"],
            "additionalProperties": False,
        },
    )
    assert is_strict_compatible(spec.parameters)


def test_defaults_come_from_the_model() -> None:
    spec = tool_spec(GetWeatherArgs)
    assert spec.name == "get_weather"
    assert spec.description == "Current weather and a forecast for a place."
    assert spec.risk is RiskLevel.SAFE


def test_nested_models_and_enums_are_inlined_without_titles() -> None:
    params = tool_spec(GetWeatherArgs).parameters
    nodes = walk(params)
    assert not any("$ref" in n or "$defs" in n or "title" in n for n in nodes)
    props: Any = params["properties"]
    assert set(props) == {"place", "days", "unit", "title"}  # the property named title stays
    assert props["place"]["properties"]["city"]["type"] == "string"
    assert props["place"]["additionalProperties"] is False
    assert props["unit"] == {
        "anyOf": [{"enum": ["celsius", "fahrenheit"], "type": "string"}, {"type": "null"}],
        "description": 'Temperature unit (null for the default, "celsius")',
    }
    assert props["days"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 14}
    assert params["required"] == ["place", "days", "unit", "title"]
    assert not any("default" in n for n in nodes)
    assert is_strict_compatible(params)


def test_plain_form_keeps_defaults_and_requires_only_what_has_none() -> None:
    params = tool_spec(GetWeatherArgs, strict=False).parameters
    props: Any = params["properties"]
    assert params["required"] == ["place"]
    assert props["days"]["default"] == 3
    assert props["place"]["required"] == ["city"]
    assert props["place"]["properties"]["city"]["minLength"] == 1
    assert not is_strict_compatible(params)


def test_discriminated_union_becomes_any_of_with_required_tags() -> None:
    params = tool_spec(AdoptArgs).parameters
    props: Any = params["properties"]
    pet = props["pet"]
    assert "discriminator" not in pet
    assert "oneOf" not in pet
    cat, dog = pet["anyOf"]
    assert cat["properties"]["kind"] == {"const": "cat", "type": "string"}
    assert cat["required"] == ["kind", "lives"]
    assert dog["properties"]["good"]["anyOf"][1] == {"type": "null"}
    assert is_strict_compatible(params)


def test_free_form_dicts_and_tuples_are_not_strict_compatible() -> None:
    class Loose(BaseModel):
        """Loose."""

        counts: dict[str, int]

    class Pair(BaseModel):
        """Pair."""

        pair: tuple[int, int]

    assert not is_strict_compatible(tool_spec(Loose).parameters)
    assert not is_strict_compatible(tool_spec(Pair).parameters)
    assert is_strict_compatible(tool_spec(Place).parameters)


def test_empty_model() -> None:
    class Ping(BaseModel):
        """Ping."""

    assert tool_spec(Ping).parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_errors_for_unusable_models() -> None:
    with pytest.raises(UsageError, match="recursive model Node"):
        tool_spec(Node)

    class NoDoc(BaseModel):
        x: int

    with pytest.raises(UsageError, match="needs a description"):
        tool_spec(NoDoc)
    assert tool_spec(NoDoc, description="Has one.").name == "no_doc"


# --- parse_tool_args -------------------------------------------------------------------------


def call(**arguments: Any) -> ToolCall:
    return ToolCall(id="call_1", name="get_weather", arguments=arguments)


def test_parses_valid_arguments() -> None:
    args = parse_tool_args(GetWeatherArgs, call(place={"city": "Oslo"}, days=5, unit="fahrenheit"))
    assert args == GetWeatherArgs(place=Place(city="Oslo"), days=5, unit=Unit.FAHRENHEIT)


def test_null_for_an_optional_field_means_its_default() -> None:
    args = parse_tool_args(
        GetWeatherArgs,
        call(place={"city": "Oslo", "country": None}, days=None, unit=None, title=None),
    )
    assert args == GetWeatherArgs(place=Place(city="Oslo"))


def test_nulls_inside_unions_and_lists_of_models() -> None:
    args = parse_tool_args(
        AdoptArgs,
        ToolCall(
            name="adopt",
            arguments={"pet": {"kind": "cat", "lives": None}, "friends": [{"city": "Rome"}]},
        ),
    )
    assert args == AdoptArgs(pet=Cat(), friends=[Place(city="Rome")])


def test_validation_errors_become_readable_error_info() -> None:
    info = parse_tool_args(GetWeatherArgs, call(place={"city": ""}, days="many"))
    assert isinstance(info, ErrorInfo)
    assert info.type == "InvalidToolArguments"
    assert info.message == (
        "invalid arguments for tool 'get_weather': "
        "place.city: String should have at least 1 character (got ''); "
        "days: Input should be a valid integer, unable to parse string as an integer (got 'many')"
    )
    assert info.details["call_id"] == "call_1"
    assert info.details["tool"] == "get_weather"
    errors: Any = info.details["errors"]
    assert [e["loc"] for e in errors] == ["place.city", "days"]


def test_a_missing_required_field_and_a_null_one() -> None:
    info = parse_tool_args(GetWeatherArgs, call(days=2))
    assert isinstance(info, ErrorInfo)
    assert info.message == "invalid arguments for tool 'get_weather': place: Field required"
    info = parse_tool_args(GetWeatherArgs, call(place=None))
    assert isinstance(info, ErrorInfo)
    assert "place" in info.message


def test_malformed_json_from_the_model_is_an_error_not_a_crash() -> None:
    broken = ToolCall(id="c9", name="get_weather", raw_arguments='{"place": {"city": "Os')
    info = parse_tool_args(GetWeatherArgs, broken)
    assert isinstance(info, ErrorInfo)
    assert info.type == "MalformedToolArguments"
    assert info.details["call_id"] == "c9"
    assert info.details["tool"] == "get_weather"
    kept_raw = ToolCall(name="get_weather", raw_arguments='{"place": {"city": "Oslo"}}')
    assert parse_tool_args(GetWeatherArgs, kept_raw) == GetWeatherArgs(place=Place(city="Oslo"))


def test_many_errors_are_summarized() -> None:
    class Many(BaseModel):
        """Many."""

        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int
        h: int
        i: int
        j: int
        k: int
        l: int  # noqa: E741

    info = parse_tool_args(Many, ToolCall(name="many"))
    assert isinstance(info, ErrorInfo)
    assert info.message.endswith("; and 2 more")


@given(st.builds(GetWeatherArgs, place=st.builds(Place, city=st.text(min_size=1))))
def test_round_trip_through_the_schema_shape(args: GetWeatherArgs) -> None:
    """What a model may send under the strict schema (every key, JSON values) parses back."""
    sent = args.model_dump(mode="json")
    assert parse_tool_args(GetWeatherArgs, ToolCall(name="w", arguments=sent)) == args
