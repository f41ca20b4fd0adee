"""A fake ``llama-server`` for the ``pyclaw.llm.local`` tests, and the tests of the fake itself.

Run as a script it takes llama-server's arguments (``-m``, ``--host``, ``--port``, ``--alias``…)
and serves ``GET /health`` and ``POST /v1/chat/completions`` (JSON or SSE; the answer is ``echo:``
plus the last user text). Environment variables make it misbehave:

- ``FAKE_LLAMA_LOAD_SECONDS``: answer ``/health`` with 503 for that long (loading the model);
  ``FAKE_LLAMA_NEVER_READY=1``: forever.
- ``FAKE_LLAMA_EXIT_IF``: a path; if that file exists at start, print an error and exit 1.
- ``FAKE_LLAMA_CRASH_IF``: a path; a chat request while that file exists deletes it and kills
  the server mid-request (exit 3).
- ``FAKE_LLAMA_IGNORE_TERM=1``: ignore SIGTERM (only SIGKILL stops it).
- ``FAKE_LLAMA_CHILD=1``: start a child process (for the no-orphans tests).
- ``FAKE_LLAMA_RECORD``: a path; append ``{"pid", "argv", "child"}`` as a JSON line at start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _arg(argv: list[str], name: str, default: str = "") -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content)
    return ""


class _Handler(BaseHTTPRequestHandler):
    server_version = "fake-llama"
    started = time.monotonic()
    alias = "fake"

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write("fake-llama: " + format % args + "\n")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/health":
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})
            return
        load = float(os.environ.get("FAKE_LLAMA_LOAD_SECONDS", "0"))
        never = os.environ.get("FAKE_LLAMA_NEVER_READY") == "1"
        if never or time.monotonic() - self.started < load:
            self._json(503, {"error": {"code": 503, "message": "Loading model"}})
        else:
            self._json(200, {"status": "ok"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        crash = os.environ.get("FAKE_LLAMA_CRASH_IF")
        if crash and Path(crash).exists():
            Path(crash).unlink()
            os._exit(3)
        text = f"echo: {_last_user_text(body)}"
        usage = {"prompt_tokens": 7, "completion_tokens": len(text.split()), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "model": self.alias,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            self._chunk({"delta": {"content": piece}, "finish_reason": None})
        self._chunk({"delta": {}, "finish_reason": "stop"}, usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")

    def _chunk(self, choice: dict[str, Any], usage: dict[str, int] | None = None) -> None:
        chunk: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "model": self.alias,
            "choices": [{"index": 0, **choice}],
        }
        if usage is not None:
            chunk["usage"] = usage
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()


def main(argv: list[str]) -> int:
    exit_if = os.environ.get("FAKE_LLAMA_EXIT_IF")
    if exit_if and Path(exit_if).exists():
        print("error: failed to load model 'fake.gguf'", flush=True)
        return 1
    if os.environ.get("FAKE_LLAMA_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = None
    if os.environ.get("FAKE_LLAMA_CHILD") == "1":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    record = os.environ.get("FAKE_LLAMA_RECORD")
    if record:
        line = {"pid": os.getpid(), "argv": argv, "child": child.pid if child else None}
        with Path(record).open("a") as out:
            out.write(json.dumps(line) + "\n")
    _Handler.alias = _arg(argv, "--alias", "fake")
    server = ThreadingHTTPServer((_arg(argv, "--host"), int(_arg(argv, "--port"))), _Handler)
    print(f"fake-llama: listening on port {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# ------------------------------------------------------------------ tests of the fake itself


def test_arg_reads_option_values() -> None:
    argv = ["-m", "x.gguf", "--port", "8080"]
    assert _arg(argv, "--port") == "8080"
    assert _arg(argv, "--alias", "fake") == "fake"


def test_last_user_text_reads_string_and_part_contents() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ]
    }
    assert _last_user_text(body) == "second"
    assert _last_user_text({"messages": []}) == ""
