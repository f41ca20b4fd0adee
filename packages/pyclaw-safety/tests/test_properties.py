"""Properties: no registered secret survives, and redacted JSON is still valid JSON."""

from __future__ import annotations

import json
import string
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.safety import SecretRedactor, replacement, secret_forms

# Secrets: no quote or backslash (the documented JSON guarantee), no '[', ']' or ':' (so a secret
# cannot be spelled across a replacement's edge), and at least one character that never occurs
# outside a JSON string (a secret made only of digits could sit inside a JSON number).
_SECRET_CHARS = string.ascii_letters + string.digits + "-_.~!@#$%^&*()+=/;,?<>{}| äé€😀\t\n"
_OUTSIDE_STRINGS = set("0123456789.eE+-,:[]{} \t\n\rtruefalsn")
NAMES = [f"k{i}" for i in range(4)]


def _usable(secret: str) -> bool:
    return not set(secret) <= _OUTSIDE_STRINGS and not any(
        secret in replacement(name) for name in NAMES
    )


_secret_st = st.text(_SECRET_CHARS, min_size=6, max_size=40).filter(_usable)


@st.composite
def secrets_st(draw: st.DrawFn) -> list[str]:
    """Up to four secrets; sometimes the second starts with the end of the first (overlap)."""
    secrets = draw(st.lists(_secret_st, min_size=1, max_size=len(NAMES), unique=True))
    if len(secrets) > 1 and draw(st.booleans()):
        first = secrets[0]
        chained = first[draw(st.integers(1, len(first) - 1)) :] + secrets[1]
        if _usable(chained) and chained not in secrets:
            secrets[1] = chained
    return secrets


def _overlap(a: str, b: str) -> int:
    """Length of the longest proper suffix of ``a`` that is a prefix of ``b``."""
    return max((n for n in range(1, min(len(a), len(b))) if a.endswith(b[:n])), default=0)


filler_st = st.text(string.ascii_letters + string.digits + " -_/\\\"'\n\té{}[]:,", max_size=12)


def _tail(char: str, secret: str, cut: int) -> str:
    return char + secret[cut:]


@st.composite
def text_with_secrets(draw: st.DrawFn, secrets: list[str]) -> str:
    """Filler text with secrets dropped in, sometimes glued or overlapping one another."""
    # A secret's tail after a character JSON escapes ("\n" + "abcdef" contains the text
    # "nabcdef"): the places where a careless redactor cuts an escape in half.
    tails = st.builds(
        _tail,
        st.sampled_from(["\n", "\t", "\r", "\b", "\f", '"', "\\", "é", "\x01"]),
        st.sampled_from(secrets),
        st.integers(1, 5),
    )
    pieces = draw(st.lists(st.one_of(filler_st, st.sampled_from(secrets), tails), max_size=12))
    text = "".join(pieces)
    if draw(st.booleans()) and len(secrets) > 1:
        a, b = secrets[0], secrets[1]
        text += a + b[_overlap(a, b) :]  # the two secrets share characters
    return text


def json_documents(secrets: list[str]) -> st.SearchStrategy[object]:
    strings = text_with_secrets(secrets)
    scalars = st.one_of(
        strings, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)
        ),
        max_leaves=12,
    )


def _strings_in(value: object) -> list[str]:
    """Every string in a parsed JSON document, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in cast("list[object]", value) for s in _strings_in(item)]
    if isinstance(value, dict):
        items = cast("dict[str, object]", value).items()
        return [s for k, v in items for s in [k, *_strings_in(v)]]
    return []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), secrets=secrets_st())
def test_no_secret_survives_in_plain_text(data: st.DataObject, secrets: list[str]) -> None:
    r = SecretRedactor(dict(zip(NAMES, secrets, strict=False)), patterns=False)
    text = data.draw(text_with_secrets(secrets))
    out = r.redact(text)
    for secret in secrets:
        assert secret not in out
    if not any(form in text for s in secrets for form in secret_forms(s)):
        assert out == text


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    secrets=secrets_st(),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
def test_redacted_json_stays_valid_json(
    data: st.DataObject, secrets: list[str], ensure_ascii: bool, indent: int | None
) -> None:
    r = SecretRedactor(dict(zip(NAMES, secrets, strict=False)))
    value = data.draw(json_documents(secrets))
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    out = r.redact(text)
    parsed = json.loads(out)  # must not raise
    for s in _strings_in(parsed):
        for secret in secrets:
            assert secret not in s
    for secret in secrets:
        assert secret not in out


@settings(max_examples=200, deadline=None)
@given(first=_secret_st, second=_secret_st, cut=st.integers(1, 39))
def test_overlapping_secrets_are_covered_whole(first: str, second: str, cut: int) -> None:
    """Two secrets sharing characters ("abcXYZ" + "XYZdef") disappear completely, shared part too."""
    second = first[min(cut, len(first) - 1) :] + second
    r = SecretRedactor({"k0": first, "k1": second}, patterns=False)
    out = r.redact("«" + first + second[_overlap(first, second) :] + "»")
    assert out in ("«[REDACTED:k0]»", "«[REDACTED:k1]»")  # named after the one that starts first
