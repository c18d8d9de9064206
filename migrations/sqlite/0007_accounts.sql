-- Accounts administration: one-time passwords that must be changed at the
-- next sign-in, a version for compare-and-set edits of an account, the
-- background jobs that create retailer sign-ins in bulk, and indexes for
-- the audit log viewer. Keep in step with ../postgres.

ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0
    CONSTRAINT users_must_change_check CHECK (must_change_password IN (0, 1));
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_role_idx ON users (role, org_unit_id);
-- Logins are unique whatever their case (sign-in counts failures by the
-- lower-cased name): two accounts made at once as "Wang" and "wang" must
-- not both pass.
CREATE UNIQUE INDEX users_login_lower_key ON users (LOWER(login));

-- One bulk creation of retailer sign-ins. The handout (xlsx with the
-- one-time passwords) is kept only until it is downloaded once, and is
-- deleted unread after a day.
CREATE TABLE account_jobs (
    id            INTEGER PRIMARY KEY,
    created_by    BIGINT NOT NULL CONSTRAINT account_jobs_created_by_fk REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    scope         TEXT NOT NULL,
    state         TEXT NOT NULL CONSTRAINT account_jobs_state_check
                  CHECK (state IN ('running', 'done', 'failed')),
    total         BIGINT NOT NULL DEFAULT 0,
    hashed        BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    finished_at   BIGINT,
    heartbeat     BIGINT NOT NULL DEFAULT 0,
    handout       BLOB,
    downloaded_at BIGINT
);
-- One bulk run at a time, whichever server process it started on.
CREATE UNIQUE INDEX account_jobs_one_running ON account_jobs (state) WHERE state = 'running';

CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
