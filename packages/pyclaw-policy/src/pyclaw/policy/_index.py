"""``GrantIndex``: live grants in memory, keyed so a check looks at a handful of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeVar

from pydantic import JsonValue

from pyclaw.meta import Grant, GrantScope
from pyclaw.policy._match import ArgPatterns, args_match, decode_argument_pattern

_GeneralKey = tuple[str, str, str | None]  # (agent, tool, session_id or None)
_OnceKey = tuple[str, str]  # (agent, call_hash)
_NEVER: ArgPatterns | None = None
_K = TypeVar("_K")


class GrantIndex:
    """Grants that were live when loaded or added, indexed by (agent, tool, session) and, for
    allow-once grants, by (agent, call hash). Expiry is checked at lookup against the caller's
    ``now``, so a grant stops matching exactly at its ``expires_at``.
    """

    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self._general: dict[_GeneralKey, tuple[Grant, ...]] = {}
        self._once: dict[_OnceKey, tuple[Grant, ...]] = {}
        self._by_id: dict[str, Grant] = {}
        self._patterns: dict[str, ArgPatterns | None] = {}
        self.next_expiry: datetime | None = None
        """The earliest ``expires_at`` indexed (maybe already pruned): when ``prune`` has work."""
        for grant in grants:
            self.add(grant)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, grant_id: str) -> bool:
        return grant_id in self._by_id

    def add(self, grant: Grant) -> None:
        """Index ``grant`` (replacing one with the same id)."""
        self.remove(grant.id)
        self._by_id[grant.id] = grant
        if grant.expires_at is not None and (
            self.next_expiry is None or grant.expires_at < self.next_expiry
        ):
            self.next_expiry = grant.expires_at
        if grant.argument_pattern is not None:
            try:
                self._patterns[grant.id] = decode_argument_pattern(grant.argument_pattern)
            except ValueError:
                self._patterns[grant.id] = _NEVER  # malformed (written elsewhere): never matches
        if grant.scope is GrantScope.ONCE and grant.call_hash is not None:
            key = (grant.agent, grant.call_hash)
            self._once[key] = (*self._once.get(key, ()), grant)
        else:
            gkey = (grant.agent, grant.tool, grant.session_id)
            self._general[gkey] = (*self._general.get(gkey, ()), grant)

    def remove(self, grant_id: str) -> None:
        """Forget a grant (revoked, used); unknown ids are ignored."""
        grant = self._by_id.pop(grant_id, None)
        if grant is None:
            return
        self._patterns.pop(grant_id, None)
        if grant.scope is GrantScope.ONCE and grant.call_hash is not None:
            _drop(self._once, (grant.agent, grant.call_hash), grant_id)
        else:
            _drop(self._general, (grant.agent, grant.tool, grant.session_id), grant_id)

    def prune(self, now: datetime) -> None:
        """Forget every grant inactive at ``now`` (expired while the daemon ran)."""
        for grant in [g for g in self._by_id.values() if not g.active(now)]:
            self.remove(grant.id)
        expiries = [g.expires_at for g in self._by_id.values() if g.expires_at is not None]
        self.next_expiry = min(expiries, default=None)

    def find_once(
        self, *, agent: str, tool: str, session_id: str, call_hash: str, now: datetime
    ) -> Grant | None:
        """A live allow-once grant for exactly this call in this session."""
        for grant in self._once.get((agent, call_hash), ()):
            if grant.tool == tool and grant.session_id in (None, session_id) and grant.active(now):
                return grant
        return None

    def find(
        self,
        *,
        agent: str,
        tool: str,
        session_id: str,
        call_hash: str,
        arguments: Mapping[str, JsonValue],
        now: datetime,
    ) -> Grant | None:
        """A live window, session or forever grant covering this call (oldest first)."""
        for key in ((agent, tool, None), (agent, tool, session_id)):
            for grant in self._general.get(key, ()):
                if (
                    grant.active(now)
                    and grant.call_hash in (None, call_hash)
                    and self._arguments_ok(grant, arguments)
                ):
                    return grant
        return None

    def _arguments_ok(self, grant: Grant, arguments: Mapping[str, JsonValue]) -> bool:
        if grant.argument_pattern is None:
            return True
        patterns = self._patterns.get(grant.id)
        return patterns is not None and args_match(patterns, arguments)


def _drop(table: dict[_K, tuple[Grant, ...]], key: _K, grant_id: str) -> None:
    kept = tuple(g for g in table.get(key, ()) if g.id != grant_id)
    if kept:
        table[key] = kept
    else:
        table.pop(key, None)
