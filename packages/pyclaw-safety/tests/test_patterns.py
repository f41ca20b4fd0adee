"""Well-known credential shapes are redacted without registration; ordinary text is not touched."""

from __future__ import annotations

import json

import pytest

from pyclaw.safety import SecretRedactor

DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz".upper()

KEYS: list[tuple[str, str]] = [
    ("sk-" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5hJ7kL9mN1pQ", "openai_key"),
    ("sk-proj-" + "Ab1_Cd2-Ef3" * 14, "openai_key"),
    ("sk-ant-api03-" + "xY7_zW8-" * 12 + "AA", "anthropic_key"),
    ("ghp_" + DIGITS36, "github_token"),
    ("gho_" + DIGITS36, "github_token"),
    ("ghs_" + DIGITS36, "github_token"),
    (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
        "github_token",
    ),
    ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"),
    ("xoxp-1234567890-abcdefghij", "slack_token"),
    ("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", "telegram_bot_token"),
    ("7012345678:AAE-x_yZ0123456789abcdefghijklmnopq", "telegram_bot_token"),
]


@pytest.fixture
def redactor() -> SecretRedactor:
    return SecretRedactor()


@pytest.mark.parametrize(("key", "label"), KEYS)
def test_key_is_redacted_in_plain_text(redactor: SecretRedactor, key: str, label: str) -> None:
    assert redactor.redact(f"the key is {key}.") == f"the key is [REDACTED:{label}]."


@pytest.mark.parametrize(("key", "label"), KEYS)
def test_key_is_redacted_in_json_after_an_escaped_newline(
    redactor: SecretRedactor, key: str, label: str
) -> None:
    out = redactor.redact(json.dumps({"log": f"line one\n{key}\tdone"}))
    assert json.loads(out) == {"log": f"line one\n[REDACTED:{label}]\tdone"}


def test_telegram_token_inside_a_bot_url(redactor: SecretRedactor) -> None:
    url = "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1/getMe"
    assert redactor.redact(url) == "https://api.telegram.org/bot[REDACTED:telegram_bot_token]/getMe"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_token_keeps_the_scheme(redactor: SecretRedactor, scheme: str) -> None:
    header = f"Authorization: {scheme} eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert redactor.redact(header) == f"Authorization: {scheme} [REDACTED:bearer_token]"


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK==\n"
    "-----END RSA PRIVATE KEY-----"
)


def test_pem_private_key_block(redactor: SecretRedactor) -> None:
    assert redactor.redact(f"key:\n{PEM}\nthanks") == "key:\n[REDACTED:private_key]\nthanks"


def test_pem_private_key_inside_json(redactor: SecretRedactor) -> None:
    out = redactor.redact(json.dumps({"file": PEM, "other": "kept"}))
    assert json.loads(out) == {"file": "[REDACTED:private_key]", "other": "kept"}


def test_truncated_pem_private_key_is_redacted_to_the_end_of_its_body(
    redactor: SecretRedactor,
) -> None:
    truncated = PEM.split("-----END", maxsplit=1)[0]
    out = redactor.redact(json.dumps({"file": truncated, "other": "kept"}))
    assert json.loads(out) == {"file": "[REDACTED:private_key]", "other": "kept"}


def test_public_key_and_certificate_are_not_redacted(redactor: SecretRedactor) -> None:
    text = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqh\n-----END PUBLIC KEY-----"
    assert redactor.redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "task-management-system-design-document-2024",  # 'sk-' inside a word
        "sk-short1",  # too short for a key
        "sk-learn-is-not-a-key-at-all-really",  # no digit
        "use a Bearer authentication scheme",
        "ghp_tooShort123",
        "AKIAIOSFODNN7EXAMPLEX",  # 21 characters: not an access key id
        "at 2025-01-01T12:34:56.789Z the run 01JD8QZ4X7 finished in 12:30:45",
        "call_01JD8QZ4X7ABCDEFGHJKMNPQRS session ses_01JD8QZ4X7ABCDEFGHJKMNPQRS",
        "1234567890123:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",  # 13 digits: not a bot id
        "5f2b7c1e-3d4a-4b6c-9e8f-0a1b2c3d4e5f",
    ],
)
def test_ordinary_text_is_left_alone(redactor: SecretRedactor, text: str) -> None:
    assert redactor.redact(text) == text


def test_registered_name_wins_over_the_pattern_name() -> None:
    key = KEYS[0][0]
    r = SecretRedactor({"openai.main": key})
    assert r.redact(f"k={key}") == "k=[REDACTED:openai.main]"


def test_telegram_token_after_a_non_ascii_digit(redactor: SecretRedactor) -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    assert redactor.redact(f"٣{token}") == "٣[REDACTED:telegram_bot_token]"
