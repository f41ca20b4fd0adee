from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyclaw.runtime import add_redaction, configure_logging, get_logger


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_json_lines_to_file_and_stderr_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", level="INFO", log_dir=tmp_path / "logs")
    add_redaction("sk-live-abcdef123456")
    get_logger("pyclaw.test", session="s1").info(
        "calling provider", api_key="sk-live-abcdef123456", url="https://x/?k=sk-live-abcdef123456"
    )
    logging.getLogger("pyclaw.secret").warning("token is %s", "sk-live-abcdef123456")
    lines = (tmp_path / "logs" / "pyclaw.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["event"] == "calling provider"
    assert records[0]["session"] == "s1"
    assert records[0]["api_key"] == "[redacted]"
    assert records[0]["url"] == "https://x/?k=[redacted]"
    assert records[1]["event"] == "token is [redacted]"
    err = capsys.readouterr().err
    assert "sk-live-abcdef123456" not in err
    assert "calling provider" in err


def test_console_mode_is_human_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console", level="WARNING")
    get_logger("pyclaw.test").warning("disk is low", free_mib=12, password="hunter2")
    get_logger("pyclaw.test").info("not shown")
    err = capsys.readouterr().err
    assert "disk is low" in err
    assert "free_mib" in err
    assert "hunter2" not in err
    assert "not shown" not in err
    assert not err.lstrip().startswith("{")


def test_structlog_is_imported_only_when_something_is_logged() -> None:
    code = (
        "import logging, sys\n"
        "from pyclaw.runtime._logging import configure_logging\n"
        "configure_logging('console')\n"
        "assert 'structlog' not in sys.modules, 'configuring imported structlog'\n"
        "logging.getLogger('pyclaw.x').warning('disk is %s', 'low')\n"
        "assert 'structlog' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "disk is low" in result.stderr
    assert "warning" in result.stderr.lower()
