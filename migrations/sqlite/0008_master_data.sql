-- Master data kept by the company itself: a retailer's phone and status
-- (open, suspended, closed with its date) and a version for compare-and-set
-- edits of retailers, specs and classes; the imports of the company's own
-- files (preview first, then applied) with their progress; and the column
-- mappings users chose, remembered per import kind. Keep in step with ../postgres.

ALTER TABLE retailers ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE retailers ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CONSTRAINT retailers_status_check CHECK (status IN ('open', 'suspended', 'closed'));
ALTER TABLE retailers ADD COLUMN closed_on TEXT;
ALTER TABLE retailers ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE specs ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customer_classes ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX retailers_class_idx ON retailers (class_code);

-- One import of a file: checked into a preview, then (optionally) applied.
-- The file itself is not kept: applying sends it again, and it must hash to
-- the previewed file.
CREATE TABLE import_jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_by  BIGINT NOT NULL CONSTRAINT import_jobs_created_by_fk REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    file_name   TEXT NOT NULL,
    file_hash   TEXT NOT NULL,
    state       TEXT NOT NULL CONSTRAINT import_jobs_state_check
                CHECK (state IN ('checking', 'checked', 'applying', 'applied', 'failed')),
    done        BIGINT NOT NULL DEFAULT 0,
    total       BIGINT NOT NULL DEFAULT 0,
    mapping     TEXT NOT NULL DEFAULT '[]',
    preview     TEXT,
    result      TEXT,
    error       TEXT,
    heartbeat   BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX import_jobs_created_idx ON import_jobs (created_at);

-- A new installation starts with the usual 30 classes (1档 … 30档), which
-- the marketing center renames, reorders or replaces on its page.
INSERT INTO customer_classes (code, label, rank)
    WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 30)
    SELECT CAST(k AS TEXT), CAST(k AS TEXT) || '档', k FROM n
    WHERE NOT EXISTS (SELECT 1 FROM customer_classes);
