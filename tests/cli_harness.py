"""Running the ``pyclaw`` CLI in-process for tests: exit code, stdout and stderr."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from click.testing import CliRunner

from pyclaw.runtime.cli import run


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(*args: str) -> Outcome:
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return Outcome(code, out.getvalue().decode(), err.getvalue().decode())
