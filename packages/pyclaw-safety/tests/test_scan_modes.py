"""The redactor's two ways of scanning (one pass per anchor for long texts, one combined pass for
short texts or many anchors) find exactly the same things."""

from __future__ import annotations

import dataclasses
import re
import string
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.safety import SecretRedactor, secret_forms
from pyclaw.safety import _redactor as redactor_module

SECRETS = {
    "api": "Zq9-secret-VALUE-1234567",
    "pw": "hunter2hunter2",
    "uni": "pässwörd€42",
}
KEY_SHAPES = [
    "sk-ant-api03-" + "a1B2c3D4e5" * 4,
    "sk-proj-" + "Z9y8X7w6V5" * 3,
    "ghp_" + "A1b2C3d4E5f6G7h8I9j0" + "K1l2M3n4O5p6Q7r8",
    "github_pat_" + "11ABCDEFG0123456789_abcdefghij",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-123456789012-abcdefghijkl",
    "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "Bearer abcdefghijklmnop.qrstuvwxyz0123",
    "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----",
]
FORMS = sorted({form for value in SECRETS.values() for form in secret_forms(value)})
FILLER = string.ascii_letters + string.digits + " -_/\\\"'\n\té{}[]:,"


def redactors() -> tuple[SecretRedactor, SecretRedactor]:
    """The same secrets twice: scanning per anchor, and forced to one combined pass."""
    per_anchor = SecretRedactor(SECRETS)
    per_anchor.redact("")
    combined = SecretRedactor(SECRETS)
    with mock.patch.object(redactor_module, "SEPARATE_ANCHORS", 0):
        combined.redact("")
    return per_anchor, combined


PER_ANCHOR, COMBINED = redactors()


def test_the_two_modes_are_really_used() -> None:
    per_anchor = PER_ANCHOR._matcher  # pyright: ignore[reportPrivateUsage] - the mode under test
    combined = COMBINED._matcher  # pyright: ignore[reportPrivateUsage] - the mode under test
    assert per_anchor is not None
    assert len(per_anchor.scans) == len(per_anchor.rules) >= 8
    assert combined is not None
    assert combined.scans == ()
    assert combined.scan is not None


def _cut(text: str, n: int) -> str:
    return text[:n]


def _glued(text: str) -> str:
    return "x" + text + "y"


_known = st.sampled_from([*FORMS, *KEY_SHAPES])
piece_st: st.SearchStrategy[str] = st.one_of(
    st.text(FILLER, max_size=40),
    _known,
    st.builds(_cut, _known, st.integers(1, 30)),  # a form or key cut short: near misses
    st.builds(_glued, _known),  # glued to letters
)


@settings(max_examples=300, deadline=None)
@given(st.lists(piece_st, max_size=30), st.integers(0, 400))
def test_per_anchor_and_combined_scans_agree(pieces: list[str], pad: int) -> None:
    text = "".join(pieces) + "." * pad  # long texts take the per-anchor path
    expected = COMBINED.redact(text)
    assert PER_ANCHOR.redact(text) == expected
    for form in FORMS:
        assert form not in expected or form not in text


def test_a_long_request_loses_every_secret_in_both_modes() -> None:
    body = ",".join(f'{{"role":"user","text":"message {i}: nothing here"}}' for i in range(600))
    planted = [*KEY_SHAPES, *SECRETS.values()]
    text = body[:100] + planted[0] + body[100:20000] + " ".join(planted) + body[20000:]
    text += planted[-1]
    assert len(text) > 30_000
    out = PER_ANCHOR.redact(text)
    assert out == COMBINED.redact(text)
    for value in SECRETS.values():
        assert value not in out
    for shape in KEY_SHAPES:
        assert shape not in out
    assert out.count("[REDACTED:anthropic_key]") == out.count("[REDACTED:uni]") == 2
    assert "message 599: nothing here" in out


def test_texts_up_to_the_threshold_use_the_combined_pass() -> None:
    redactor = SecretRedactor(SECRETS)
    redactor.redact("")
    matcher = redactor._matcher  # pyright: ignore[reportPrivateUsage] - swapping the scanners
    assert matcher is not None
    # per-anchor scanners that find nothing: only the combined pass can still redact
    blind = ((re.compile("(?!)"), ()),)
    redactor._matcher = dataclasses.replace(matcher, scans=blind)  # pyright: ignore[reportPrivateUsage]
    limit = redactor_module.SEPARATE_FROM_CHARS
    pad = "." * (limit - len("key " + SECRETS["api"]))
    short = "key " + SECRETS["api"] + pad
    assert len(short) == limit
    assert redactor.redact(short) == "key [REDACTED:api]" + pad
    assert redactor.redact(short + ".") == short + "."  # past the threshold: the blind scanners
