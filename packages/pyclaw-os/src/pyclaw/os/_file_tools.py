"""The built-in tools that read and change one file: ``read_file``, ``write_file``, ``edit_file``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pyclaw.meta import RiskLevel, ToolError
from pyclaw.os._blocking import CancelToken, run_blocking
from pyclaw.os._fsio import looks_binary, read_fd, write_atomic_at
from pyclaw.os._paths import Workspace, resolve
from pyclaw.os._tool import Tool, ToolRun

MAX_READ_BYTES = 10_000_000
MAX_EDIT_BYTES = 10_000_000


class StrictArgs(BaseModel):
    """Base of the built-in tools' arguments: unknown keys are an error the model can fix."""

    model_config = ConfigDict(extra="forbid")


PathField = Field(description="Path relative to the workspace, e.g. 'notes/todo.md'.")


def read_text(workspace: Workspace, path: str, *, max_bytes: int) -> tuple[str, str]:
    """The text of a workspace file and its resolved relative path; refuses binary files."""
    with resolve(workspace, path, want="file") as found:
        assert found.fd is not None
        data = read_fd(found.fd, max_bytes=max_bytes, shown=path)
    if looks_binary(data):
        raise ToolError(f"{path}: binary file ({len(data):,} bytes), not shown")
    return data.decode("utf-8", errors="replace"), found.rel


class ReadFileArgs(StrictArgs):
    path: str = PathField
    offset: int = Field(default=1, ge=1, description="First line to return (1-based).")
    limit: int = Field(default=2000, ge=1, le=20_000, description="How many lines at most.")


class ReadFileTool(Tool[ReadFileArgs]):
    """Reads a text file of the workspace, by lines."""

    name: ClassVar[str] = "read_file"
    description: ClassVar[str] = (
        "Read a UTF-8 text file in the workspace. Returns up to `limit` lines from line "
        "`offset` (1-based); says how to continue when the file is longer."
    )
    args_model = ReadFileArgs
    untrusted: ClassVar[bool] = True

    async def run(self, args: ReadFileArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)

        def work(token: CancelToken) -> str:
            text, _ = read_text(workspace, args.path, max_bytes=MAX_READ_BYTES)
            return _select_lines(text, args.offset, args.limit)

        return await run_blocking(work)


def _select_lines(text: str, offset: int, limit: int) -> str:
    if not text:
        return "[empty file]"
    lines = text.splitlines(keepends=True)
    total = len(lines)
    if offset > total:
        return f"[the file has {total} lines; offset {offset} is past the end]"
    end = min(total, offset - 1 + limit)
    body = "".join(lines[offset - 1 : end])
    if offset == 1 and end == total:
        return body
    if not body.endswith("\n"):
        body += "\n"
    more = f"; call read_file with offset={end + 1} for more" if end < total else ""
    return f"{body}[lines {offset}-{end} of {total}{more}]"


class WriteFileArgs(StrictArgs):
    path: str = PathField
    content: str = Field(description="The whole new content of the file (UTF-8 text).")


class WriteFileTool(Tool[WriteFileArgs]):
    """Creates or replaces a workspace file atomically."""

    name: ClassVar[str] = "write_file"
    description: ClassVar[str] = (
        "Create or overwrite a text file in the workspace with `content` (parent directories "
        "are created). The write is atomic."
    )
    args_model = WriteFileArgs
    risk: ClassVar[RiskLevel] = RiskLevel.MODERATE

    async def run(self, args: WriteFileArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)
        data = args.content.encode("utf-8")

        def work(token: CancelToken) -> str:
            with resolve(workspace, args.path, want="parent", create_dirs=True) as found:
                write_atomic_at(found.parent_fd, found.name, data, shown=args.path)
            return f"wrote {len(data):,} bytes to {found.rel}"

        return await run_blocking(work)


class EditFileArgs(StrictArgs):
    path: str = PathField
    old_text: str = Field(min_length=1, description="Exact text to replace (must be unique).")
    new_text: str = Field(description="The replacement text.")
    replace_all: bool = Field(default=False, description="Replace every occurrence.")


class EditFileTool(Tool[EditFileArgs]):
    """Replaces exact text in a workspace file."""

    name: ClassVar[str] = "edit_file"
    description: ClassVar[str] = (
        "Replace `old_text` with `new_text` in a workspace file. `old_text` must match exactly "
        "once (include surrounding lines to make it unique) unless `replace_all` is true."
    )
    args_model = EditFileArgs
    risk: ClassVar[RiskLevel] = RiskLevel.MODERATE

    async def run(self, args: EditFileArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)

        def work(token: CancelToken) -> str:
            with resolve(workspace, args.path, want="file") as found:
                assert found.fd is not None
                data = read_fd(found.fd, max_bytes=MAX_EDIT_BYTES, shown=args.path)
                if looks_binary(data):
                    raise ToolError(f"{args.path}: binary file, not edited")
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise ToolError(f"{args.path}: not valid UTF-8, not edited") from None
                count = text.count(args.old_text)
                if count == 0:
                    raise ToolError(f"{args.path}: old_text not found (it must match exactly)")
                if count > 1 and not args.replace_all:
                    raise ToolError(
                        f"{args.path}: old_text occurs {count} times; add surrounding lines "
                        "to make it unique, or set replace_all"
                    )
                new = text.replace(args.old_text, args.new_text)
                token.check()
                # Same directory descriptor as the read: the rename lands where we read from.
                write_atomic_at(found.parent_fd, found.name, new.encode("utf-8"), shown=args.path)
            times = "1 occurrence" if count == 1 else f"{count} occurrences"
            return f"replaced {times} in {found.rel}"

        return await run_blocking(work)
