-- Stored system baselines (系统基线): every retailer × spec's baseline and its
-- 80 % interval for the two months after the last history month, computed in
-- the background when the history changes, so that opening a sheet reads them
-- instead of fitting thousands of series. Keep in step with ../postgres.

-- A cache derived from monthly_orders and replaced by every run: no foreign
-- keys, so that a city's two million rows are not checked one by one against
-- retailers and specs (monthly_orders, which they come from, is). Only series
-- with history are stored; an absent row is 0 with the interval 0–0.
CREATE TABLE baselines (
    month           TEXT NOT NULL,
    retailer_id     BIGINT NOT NULL,
    spec_id         BIGINT NOT NULL,
    cartons         BIGINT NOT NULL,
    low             BIGINT NOT NULL,
    high            BIGINT NOT NULL,
    method          TEXT NOT NULL,
    -- The last history month the forecast was made from.
    history_through TEXT NOT NULL,
    CONSTRAINT baselines_pkey PRIMARY KEY (month, retailer_id, spec_id),
    CONSTRAINT baselines_interval_check CHECK (low >= 0 AND low <= high)
);

-- One recompute. At most one is queued and one runs, whichever server process
-- asked: a process claims the queued run by a compare-and-set UPDATE and keeps
-- its heartbeat fresh; a run whose heartbeat is older than a minute is taken
-- to have died with its process and may be taken over by another.
CREATE TABLE baseline_runs (
    id              INTEGER PRIMARY KEY,
    status          TEXT NOT NULL CONSTRAINT baseline_runs_status_check
                    CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- What asked for it: manual, history_import, actuals, demo, start.
    source          TEXT NOT NULL,
    requested_by    BIGINT CONSTRAINT baseline_runs_requested_by_fk REFERENCES users (id),
    requested_at    BIGINT NOT NULL,
    -- Set when it starts: the last history month read and the months computed.
    history_through TEXT,
    first_month     TEXT,
    last_month      TEXT,
    total           BIGINT NOT NULL DEFAULT 0,
    done            BIGINT NOT NULL DEFAULT 0,
    started_at      BIGINT,
    finished_at     BIGINT,
    heartbeat       BIGINT NOT NULL DEFAULT 0,
    -- The server process running it.
    claimed_by      TEXT,
    error           TEXT
);
CREATE UNIQUE INDEX baseline_runs_one_queued ON baseline_runs (status) WHERE status = 'queued';
CREATE UNIQUE INDEX baseline_runs_one_running ON baseline_runs (status) WHERE status = 'running';

-- The months a finished run stored, through which history month and when. A
-- sheet of a month not listed here computes its baselines on read.
CREATE TABLE baseline_months (
    month           TEXT NOT NULL CONSTRAINT baseline_months_pkey PRIMARY KEY,
    history_through TEXT NOT NULL,
    run_id          BIGINT NOT NULL CONSTRAINT baseline_months_run_fk REFERENCES baseline_runs (id),
    computed_at     BIGINT NOT NULL,
    series          BIGINT NOT NULL
);
