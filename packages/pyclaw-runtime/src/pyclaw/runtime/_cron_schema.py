"""The cron schema (component ``cron``): scheduled jobs and their firings."""

from __future__ import annotations

from pyclaw.storage import Database, Migrations

CRON_MIGRATIONS = Migrations("cron")
"""Schema of ``cron_jobs`` and ``cron_runs``; ``CronStore`` ensures it. Append new steps; never
edit one that has shipped."""


@CRON_MIGRATIONS.migration(1, "create cron jobs and runs")
def _create_tables(db: Database) -> None:
    db.script(
        """
        CREATE TABLE cron_jobs (
            name TEXT PRIMARY KEY,
            job TEXT NOT NULL CHECK (json_valid(job)),
            source TEXT NOT NULL CHECK (source IN ('config', 'cli')),
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            last_fire_at TEXT,
            next_fire_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX cron_jobs_next_fire ON cron_jobs (next_fire_at) WHERE enabled = 1;

        -- One row per firing. UNIQUE (job_name, scheduled_for) is the claim: whoever inserts the
        -- row runs the firing, so it runs once even with two schedulers or after a restart.
        -- No foreign key: the history of a removed job stays.
        CREATE TABLE cron_runs (
            id INTEGER PRIMARY KEY,
            job_name TEXT NOT NULL,
            scheduled_for TEXT NOT NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
            run_id TEXT,
            session_id TEXT,
            error TEXT,
            UNIQUE (job_name, scheduled_for),
            CHECK ((status = 'running') = (finished_at IS NULL))
        );
        CREATE INDEX cron_runs_started ON cron_runs (started_at);
        """
    )


@CRON_MIGRATIONS.migration(2, "track failures, retries and delivery")
def _failures_and_delivery(db: Database) -> None:
    db.script(
        """
        -- consecutive_failures: scheduled firings that failed in a row (a success resets it);
        -- retry_at: a backoff retry planned after a failure (next_fire_at is then that time);
        -- disabled_reason: why enabled = 0 (too many failures, or 'pyclaw cron disable').
        ALTER TABLE cron_jobs ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE cron_jobs ADD COLUMN retry_at TEXT;
        ALTER TABLE cron_jobs ADD COLUMN disabled_reason TEXT;

        -- attempt: 1 + the job's consecutive failures when the firing was claimed;
        -- delivery: NULL until the daemon delivered (or gave up on) the outcome.
        ALTER TABLE cron_runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE cron_runs ADD COLUMN delivery TEXT
            CHECK (delivery IN ('delivered', 'failed', 'skipped'));
        ALTER TABLE cron_runs ADD COLUMN delivery_error TEXT;
        """
    )
