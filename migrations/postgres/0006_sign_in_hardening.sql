-- Sign-in failures per attempted login name and client address (whether or
-- not the account exists), so that parallel attempts are counted before the
-- slow password check, an unknown name locks like a real one, and a lock
-- set from one address does not shut the account's owner out elsewhere.
CREATE TABLE login_attempts (
    login        TEXT NOT NULL,
    address      TEXT NOT NULL,
    failures     BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (login, address)
);
CREATE INDEX login_attempts_updated_idx ON login_attempts (updated_at);

-- Raised when a user's sessions must end (password changed); a session
-- carries the epoch it was signed in at.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
