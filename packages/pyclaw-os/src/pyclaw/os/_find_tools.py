"""The built-in tools that look around the workspace: ``list_dir``, ``glob``, ``grep``.

None of them follows a symlink met while walking (like ``grep -r``): a symlink is listed as
``name@`` and never entered or read. Version-control directories are not searched.
"""

from __future__ import annotations

import os
import re
import stat
from typing import ClassVar

from pydantic import Field

from pyclaw.meta import ToolError
from pyclaw.os import _paths
from pyclaw.os._blocking import CancelToken, run_blocking
from pyclaw.os._errors import PathEscapeError
from pyclaw.os._file_tools import StrictArgs
from pyclaw.os._fsio import BINARY_SNIFF_BYTES, walk_tree
from pyclaw.os._glob import GlobPattern
from pyclaw.os._paths import Workspace, resolve
from pyclaw.os._tool import Tool, ToolRun

MAX_LIST_ENTRIES = 1000
MAX_WALK_ENTRIES = 200_000
MAX_GREP_FILE_BYTES = 5_000_000
MAX_LINE_CHARS = 300


def _prefix(rel: str) -> str:
    return f"{rel}/" if rel else ""


class ListDirArgs(StrictArgs):
    path: str = Field(default=".", description="Directory relative to the workspace.")


class ListDirTool(Tool[ListDirArgs]):
    """Lists one directory of the workspace."""

    name: ClassVar[str] = "list_dir"
    description: ClassVar[str] = (
        "List a workspace directory: one entry per line, directories end with '/', symlinks "
        "with '@', files show their size in bytes."
    )
    args_model = ListDirArgs

    async def run(self, args: ListDirArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)

        def work(token: CancelToken) -> str:
            with resolve(workspace, args.path, want="dir") as found:
                assert found.fd is not None
                return _listing(found.fd, token)

        return await run_blocking(work)


def _listing(fd: int, token: CancelToken) -> str:
    with os.scandir(fd) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    lines: list[str] = []
    for entry in entries[:MAX_LIST_ENTRIES]:
        token.check()
        try:
            if entry.is_symlink():
                lines.append(f"{entry.name}@")
            elif entry.is_dir(follow_symlinks=False):
                lines.append(f"{entry.name}/")
            else:
                size = entry.stat(follow_symlinks=False).st_size
                lines.append(f"{entry.name}  {size:,}")
        except OSError:
            lines.append(f"{entry.name}?")
    if not lines:
        return "[empty directory]"
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[{len(entries) - MAX_LIST_ENTRIES:,} more entries not shown]")
    return "\n".join(lines)


class GlobArgs(StrictArgs):
    pattern: str = Field(
        description="Glob relative to the workspace: '*' and '?' within a name, '**' for any "
        "number of directories, e.g. '**/*.py' or 'docs/*.md'."
    )
    max_results: int = Field(default=200, ge=1, le=2000, description="Stop after this many.")


class GlobTool(Tool[GlobArgs]):
    """Finds workspace paths matching a glob pattern."""

    name: ClassVar[str] = "glob"
    description: ClassVar[str] = (
        "Find files and directories in the workspace whose path matches a glob pattern "
        "(directories end with '/'). Paths are relative to the workspace."
    )
    args_model = GlobArgs

    async def run(self, args: GlobArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)
        try:
            pattern = GlobPattern(args.pattern)
        except ValueError as exc:
            raise ToolError(f"bad glob pattern: {exc}") from None

        def work(token: CancelToken) -> str:
            found: list[str] = []
            scanned = 0
            root = workspace.open_root()
            try:
                tree = walk_tree(root, "", token, descend=lambda rel, _: pattern.could_contain(rel))
                for entry in tree:
                    scanned += 1
                    if scanned > MAX_WALK_ENTRIES:
                        found.append(f"[stopped after scanning {MAX_WALK_ENTRIES:,} entries]")
                        break
                    if pattern.match(entry.rel):
                        if len(found) == args.max_results:
                            found.append(f"[more than {args.max_results} matches not shown]")
                            break
                        found.append(entry.rel + ("/" if entry.kind == "dir" else ""))
            finally:
                os.close(root)
            return "\n".join(found) if found else f"[no paths match {args.pattern!r}]"

        return await run_blocking(work)


class GrepArgs(StrictArgs):
    pattern: str = Field(description="Python regular expression searched line by line.")
    path: str = Field(default=".", description="File or directory to search, workspace-relative.")
    glob: str | None = Field(
        default=None,
        description="Only files matching this glob ('*.py' matches names; 'src/**/*.py' paths).",
    )
    ignore_case: bool = False
    max_results: int = Field(default=100, ge=1, le=2000, description="Stop after this many lines.")


class GrepTool(Tool[GrepArgs]):
    """Searches workspace text files with a regular expression."""

    name: ClassVar[str] = "grep"
    description: ClassVar[str] = (
        "Search text files in the workspace for a regular expression. Prints 'path:line: text' "
        "per matching line; binary and huge files are skipped."
    )
    args_model = GrepArgs
    untrusted: ClassVar[bool] = True

    async def run(self, args: GrepArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)
        try:
            regex = re.compile(args.pattern, re.IGNORECASE if args.ignore_case else 0)
        except re.error as exc:
            raise ToolError(f"bad regular expression {args.pattern!r}: {exc}") from None
        try:
            name_filter = GlobPattern(args.glob) if args.glob else None
        except ValueError as exc:
            raise ToolError(f"bad glob filter: {exc}") from None
        return await run_blocking(lambda token: _grep(workspace, args, regex, name_filter, token))


def _grep(
    workspace: Workspace,
    args: GrepArgs,
    regex: re.Pattern[str],
    name_filter: GlobPattern | None,
    token: CancelToken,
) -> str:
    hits: list[str] = []

    def wanted(rel: str) -> bool:
        if name_filter is None:
            return True
        if "/" in name_filter.text:
            return name_filter.match(rel)
        return name_filter.match(rel.rsplit("/", 1)[-1])

    try:
        found = resolve(workspace, args.path, want="dir")
    except PathEscapeError:
        raise
    except ToolError:
        with resolve(workspace, args.path, want="file") as single:
            assert single.fd is not None
            _grep_fd(os.dup(single.fd), single.rel, regex, hits=hits, limit=args.max_results)
        return _grep_report(hits, args)
    with found:
        assert found.fd is not None
        for scanned, entry in enumerate(walk_tree(found.fd, _prefix(found.rel), token)):
            if scanned >= MAX_WALK_ENTRIES:
                hits.append(f"[stopped after scanning {MAX_WALK_ENTRIES:,} entries]")
                break
            if entry.kind != "file" or not wanted(entry.rel):
                continue
            if not _grep_file(
                entry.dir_fd, entry.name, entry.rel, regex, hits=hits, limit=args.max_results
            ):
                break
    return _grep_report(hits, args)


def _grep_report(hits: list[str], args: GrepArgs) -> str:
    return "\n".join(hits) if hits else f"[no lines match {args.pattern!r}]"


def _grep_file(
    dir_fd: int, name: str, rel: str, regex: re.Pattern[str], *, hits: list[str], limit: int
) -> bool:
    """Append the matching lines of one file; False once ``limit`` is reached."""
    try:
        fd = _paths.open_at(name, _paths.FILE_FLAGS, dir_fd)
    except OSError:
        return True  # vanished, or swapped for a symlink: never followed
    return _grep_fd(fd, rel, regex, hits=hits, limit=limit)


def _grep_fd(fd: int, rel: str, regex: re.Pattern[str], *, hits: list[str], limit: int) -> bool:
    """Grep an open file (the descriptor is closed); False once ``limit`` is reached."""
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_GREP_FILE_BYTES:
            return True
        head = fh.read(BINARY_SNIFF_BYTES)
        if b"\x00" in head:
            return True
        data = head + fh.read(max(0, st.st_size - len(head)) + 1)  # not a 5 MB buffer per file
    text = data.decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if regex.search(line):
            if len(hits) == limit:
                hits.append(f"[more than {limit} matching lines not shown]")
                return False
            hits.append(f"{rel}:{number}: {line[:MAX_LINE_CHARS]}")
    return True
