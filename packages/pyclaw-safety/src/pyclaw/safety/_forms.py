"""The encoded forms under which a secret value can show up in text.

A secret leaks not only verbatim: it travels URL-encoded in query strings, base64-encoded in
``Authorization: Basic`` headers and data URLs, and JSON-escaped inside payloads and logs.
``secret_forms`` lists every form the redactor looks for.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

MIN_FORM_LENGTH = 6
"""Forms shorter than this are not searched for: too likely to hit ordinary text."""

_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")

_B64 = Callable[[bytes], bytes]
_ENCODERS: tuple[_B64, ...] = (base64.b64encode, base64.urlsafe_b64encode)


def _url_forms(value: str) -> set[str]:
    forms = {quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/")}
    # Some encoders write the hex digits in lower case (``%2f``).
    forms |= {_PERCENT_HEX.sub(lambda m: m.group(0).lower(), f) for f in forms}
    return forms


_U_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")
_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def _json_dialects(escaped: str) -> set[str]:
    """The same JSON string as other encoders write it: upper-case hex in ``\\u`` escapes (Java,
    .NET), ``<``, ``>``, ``&`` and ``'`` escaped (Go, HTML-safe encoders) and ``/`` written as
    ``\\/`` (PHP), alone and combined."""
    html = escaped.translate(_HTML_SAFE)
    forms = {escaped, html}
    forms |= {_U_ESCAPE.sub(lambda m: "\\u" + m.group(1).upper(), f) for f in forms}
    forms |= {f.replace("/", "\\/") for f in forms}
    return forms


def _json_forms(value: str) -> set[str]:
    ascii_form = json.dumps(value)[1:-1]
    unicode_form = json.dumps(value, ensure_ascii=False)[1:-1]
    # JSON text embedded in a JSON string (a tool's raw arguments inside an event) escapes twice.
    twice = {json.dumps(ascii_form)[1:-1], json.dumps(ascii_form.replace("/", "\\/"))[1:-1]}
    # Every character as a \uXXXX escape: valid JSON, and a classic way to smuggle a value past
    # a plain-text filter (lower- and upper-case hex).
    every = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in value)
    return (
        _json_dialects(ascii_form)
        | _json_dialects(unicode_form)
        | twice
        | {every, _U_ESCAPE.sub(lambda m: "\\u" + m.group(1).upper(), every)}
    )


def _base64_forms(raw: bytes) -> set[str]:
    """Standalone encodings (padded and not) and the stable middle of the encoding at each of the
    three byte alignments, which is what appears when the secret sits inside a longer encoded blob
    (``base64("user:" + secret)``)."""
    forms: set[str] = set()
    for encode in _ENCODERS:
        whole = encode(raw).decode("ascii")
        forms.add(whole)
        forms.add(whole.rstrip("="))
        for offset in (0, 1, 2):
            encoded = encode(b"\0" * offset + raw).decode("ascii")
            first = -(-8 * offset // 6)  # first character made only of the secret's bits
            last = (8 * (offset + len(raw)) - 6) // 6  # last such character
            forms.add(encoded[first : last + 1])
    return forms


def secret_forms(value: str) -> set[str]:
    """Every form of ``value`` worth searching for: raw, URL-encoded, JSON-escaped and base64."""
    forms = {value} | _url_forms(value) | _json_forms(value)
    forms |= _base64_forms(value.encode("utf-8"))
    return {f for f in forms if len(f) >= MIN_FORM_LENGTH}
