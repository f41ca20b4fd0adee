"""SecretRedactor: registered secrets in every encoding, overlaps, names, warnings, threads."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from pyclaw.meta import Redactor, UsageError
from pyclaw.safety import MIN_SECRET_LENGTH, SecretRedactor, ShortSecretWarning, replacement

SECRET = "hunter2-Secret/pass+word ä"
MARK = "[REDACTED:db]"


def b64(value: str, *, urlsafe: bool = False, pad: bool = True) -> str:
    raw = value.encode()
    text = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return text if pad else text.rstrip("=")


def _upper_hex(escaped: str) -> str:
    """``\\u00e4`` written ``\\u00E4``, as Java and .NET encoders do."""
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), escaped)


def _html_safe(escaped: str) -> str:
    """``<``, ``>``, ``&`` and ``'`` escaped, as Go's encoding/json does."""
    table = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
    return "".join(table.get(c, c) for c in escaped)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda v: v,
    "quote": lambda v: quote(v, safe=""),
    "quote-default-safe": quote,
    "quote-lowercase-hex": lambda v: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(v)),
    "quote_plus": quote_plus,
    "base64": b64,
    "base64-unpadded": lambda v: b64(v, pad=False),
    "base64-urlsafe": lambda v: b64(v, urlsafe=True),
    "base64-urlsafe-unpadded": lambda v: b64(v, urlsafe=True, pad=False),
    "json-ascii": lambda v: json.dumps(v)[1:-1],
    "json-unicode": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "json-twice": lambda v: json.dumps(json.dumps(v)[1:-1])[1:-1],
    "json-escaped-slash": lambda v: json.dumps(v)[1:-1].replace("/", "\\/"),
    "json-upper-hex": lambda v: _upper_hex(json.dumps(v)[1:-1]),
    "json-html-safe": lambda v: _html_safe(json.dumps(v)[1:-1]),
    "json-html-safe-upper-hex-slash": lambda v: _upper_hex(_html_safe(json.dumps(v)[1:-1])).replace(
        "/", "\\/"
    ),
    "json-unicode-escaped-slash": lambda v: json.dumps(v, ensure_ascii=False)[1:-1].replace(
        "/", "\\/"
    ),
    "json-twice-escaped-slash": lambda v: json.dumps(json.dumps(v)[1:-1].replace("/", "\\/"))[1:-1],
}


@pytest.fixture
def redactor() -> SecretRedactor:
    return SecretRedactor({"db": SECRET})


HTML_SECRET = "p<a>ss&w'rd/é-123"


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_of_html_special_characters(encoding: str) -> None:
    form = ENCODINGS[encoding](HTML_SECRET)
    out = SecretRedactor({"h": HTML_SECRET}).redact(f'{{"v": "{form}"}}')
    assert out == '{"v": "[REDACTED:h]"}'


def test_is_a_redactor() -> None:
    assert isinstance(SecretRedactor(), Redactor)


def test_version_grows_only_when_something_new_is_redacted() -> None:
    redactor = SecretRedactor()
    assert redactor.version == 0
    assert redactor.register("db", SECRET)
    assert redactor.version == 1
    assert redactor.register("db", SECRET)  # already known: what redact returns is unchanged
    assert redactor.version == 1
    assert redactor.register("db", SECRET + "-rotated")
    assert redactor.version == 2
    with pytest.warns(ShortSecretWarning):
        assert not redactor.register("pin", "1234")
    assert redactor.version == 2
    assert SecretRedactor({"a": SECRET, "b": SECRET + "x"}).version == 2


def test_replacement_is_json_safe() -> None:
    assert replacement("db") == MARK
    assert '"' not in replacement("a.b-c_d:e")
    assert "\\" not in replacement("a.b-c_d:e")


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_is_redacted(redactor: SecretRedactor, encoding: str) -> None:
    form = ENCODINGS[encoding](SECRET)
    text = f"before {form} after"
    assert redactor.redact(text) == f"before {MARK} after"


@pytest.mark.parametrize("prefix", [b"", b"u:", b"us:", b"use:"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_secret_inside_a_larger_base64_blob(
    redactor: SecretRedactor, prefix: bytes, urlsafe: bool
) -> None:
    """``Authorization: Basic base64(user:secret)``: every alignment of the secret is covered."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(prefix + SECRET.encode() + b"!tail").decode()
    out = redactor.redact(blob)
    head, marker, tail = out.partition(MARK)
    assert marker == MARK
    # Only characters made (partly) of non-secret bytes survive on either side.
    assert blob.startswith(head)
    assert len(head) <= -(-8 * len(prefix) // 6)
    assert blob.endswith(tail)
    assert len(tail) <= -(-8 * len(b"!tail") // 6) + 1 + 2  # + a shared character + padding


def test_every_occurrence_is_redacted(redactor: SecretRedactor) -> None:
    text = f"{SECRET}{SECRET} and {quote(SECRET)} again {SECRET}"
    assert redactor.redact(text) == f"{MARK}{MARK} and {MARK} again {MARK}"


def test_text_without_secrets_is_returned_unchanged(redactor: SecretRedactor) -> None:
    text = "hunter2 is not the secret; nor is Secret/pass, nor a timestamp 2025-01-01T12:34:56Z"
    assert redactor.redact(text) == text


def test_longest_secret_wins_when_one_is_a_prefix_of_another() -> None:
    r = SecretRedactor({"short": "abcdef123", "long": "abcdef123456789"})
    assert r.redact("x abcdef123456789 y") == "x [REDACTED:long] y"
    assert r.redact("x abcdef123 y") == "x [REDACTED:short] y"


def test_contained_secret_is_covered_by_the_containing_one() -> None:
    r = SecretRedactor({"inner": "middle-part", "outer": "left-middle-part-right"})
    assert r.redact("(left-middle-part-right)") == "([REDACTED:outer])"


def test_partially_overlapping_secrets_leave_nothing_behind() -> None:
    r = SecretRedactor({"a": "QQQQabcdef", "b": "abcdefZZZZ"})
    assert r.redact("x QQQQabcdefZZZZ y") == "x [REDACTED:a] y"
    assert r.redact("x abcdefZZZZ y") == "x [REDACTED:b] y"


def test_adjacent_occurrences_keep_their_own_names() -> None:
    r = SecretRedactor({"a": "first-secret", "b": "second-secret"})
    assert r.redact("first-secretsecond-secret") == "[REDACTED:a][REDACTED:b]"


def test_short_secret_is_ignored_with_a_warning() -> None:
    r = SecretRedactor()
    with pytest.warns(ShortSecretWarning, match="'pin'") as caught:
        assert r.register("pin", "12345") is False
    assert "12345" not in str(caught[0].message)
    assert r.redact("pin 12345") == "pin 12345"
    assert r.names == ()
    assert r.register("pin6", "1" * MIN_SECRET_LENGTH) is True
    assert r.redact("pin 111111") == "pin [REDACTED:pin6]"


@pytest.mark.parametrize("name", ["", "has space", 'quo"te', "back\\slash", "-lead", "x" * 129])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid secret name"):
        SecretRedactor().register(name, "long-enough-secret")


def test_one_name_may_hold_several_values() -> None:
    r = SecretRedactor()
    r.register("openai", "old-value-123456")
    r.register("openai", "new-value-654321")
    assert r.names == ("openai",)
    assert r.redact("old-value-123456 new-value-654321") == "[REDACTED:openai] [REDACTED:openai]"


def test_register_after_first_use_takes_effect(redactor: SecretRedactor) -> None:
    assert redactor.redact("token-abcdef") == "token-abcdef"
    redactor.register("tok", "token-abcdef")
    assert redactor.redact("token-abcdef") == "[REDACTED:tok]"
    assert redactor.names == ("db", "tok")


def test_secret_with_quotes_in_json_keeps_json_valid() -> None:
    value = 'pa"ss\\wo\nrd-1'
    r = SecretRedactor({"pw": value})
    doc = json.dumps({"password": value, "nested": json.dumps({"p": value})})
    out = r.redact(doc)
    assert json.loads(out) == {"password": "[REDACTED:pw]", "nested": '{"p": "[REDACTED:pw]"}'}


def test_match_starting_inside_a_json_escape_keeps_json_valid() -> None:
    """``\\n`` followed by ``abcdef`` contains the raw text ``nabcdef``: cutting after the
    backslash would leave an invalid escape, so the escape goes too."""
    r = SecretRedactor({"s": "nabcdef", "u": "00e9xyzw"})
    for value in ["\nabcdef", "é" + "xyzw"]:
        out = r.redact(json.dumps({"v": value}))
        assert isinstance(json.loads(out), dict), out


def test_non_ascii_secret_in_ascii_json() -> None:
    r = SecretRedactor({"s": "pässwörd-€"})
    out = r.redact(json.dumps({"v": "pässwörd-€"}))
    assert json.loads(out) == {"v": "[REDACTED:s]"}


def test_patterns_can_be_turned_off() -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    assert SecretRedactor(patterns=False).redact(key) == key
    assert SecretRedactor().redact(key) == "[REDACTED:aws_access_key]"


def test_register_while_other_threads_redact() -> None:
    r = SecretRedactor()
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not stop.is_set():
                r.redact("some text with value-0001 and value-0042 in it")
        except BaseException as exc:  # a failure in the thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(50):
        r.register(f"s{i}", f"value-{i:04d}")
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert r.redact("value-0001 value-0042") == "[REDACTED:s1] [REDACTED:s42]"


def test_one_megabyte_with_twenty_secrets_is_fast() -> None:
    """A guard against accidental quadratic behaviour, not a benchmark (typically ~15-30 ms)."""
    secrets = {f"s{i}": f"Secret-{i:02d}-{'xY9/+' * 4}" for i in range(20)}
    r = SecretRedactor(secrets)
    line = (
        '{"ts": "2025-06-01T12:34:56.789Z", "kind": "tool_result", "content": "the weather ok"}\n'
    )
    text = line * (1_000_000 // len(line))
    text = text[:500_000] + secrets["s7"] + text[500_000:]
    r.redact("warm up")
    start = time.perf_counter()
    out = r.redact(text)
    elapsed = time.perf_counter() - start
    assert out.count("[REDACTED:s7]") == 1
    assert elapsed < 1.0


@pytest.mark.parametrize("upper", [False, True])
def test_a_secret_written_entirely_as_unicode_escapes_is_redacted(upper: bool) -> None:
    secret = "Pl@nted/Key+42&secret=xyzzy-7788"
    escaped = "".join(f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}" for c in secret)
    redactor = SecretRedactor({"planted": secret}, patterns=False)
    out = redactor.redact(f"here: {escaped} done")
    assert escaped not in out
    assert "[REDACTED:planted]" in out
