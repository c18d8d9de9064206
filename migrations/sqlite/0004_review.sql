-- The review chain (层层提交修正), and monthly totals per spec for trends.
-- Keep in step with ../postgres.
--
-- forecast_lines.entered stays the customer manager's own value. A reviewer's
-- correction sets current_value (NULL: same as entered) and adds a row to
-- forecast_corrections with its level, so every level's value is kept.
-- The manager's next entry of a cell clears current_value again.

ALTER TABLE forecast_lines ADD COLUMN current_value INTEGER
    CONSTRAINT forecast_lines_current_check CHECK (current_value >= 0);

-- The same retailer's orders last month and a year before, recorded at
-- submission beside the baseline, so summaries read lines only.
ALTER TABLE forecast_lines ADD COLUMN last_month INTEGER;
ALTER TABLE forecast_lines ADD COLUMN last_year INTEGER;

-- The level a submitted sheet waits at (1 = market department), and who
-- submitted it last (separation of duties).
ALTER TABLE forecast_sheets ADD COLUMN review_level INTEGER;
ALTER TABLE forecast_sheets ADD COLUMN submitted_by INTEGER
    CONSTRAINT forecast_sheets_submitted_by_fk REFERENCES users (id);

CREATE TABLE forecast_corrections (
    id          INTEGER PRIMARY KEY,
    sheet_id    INTEGER NOT NULL CONSTRAINT forecast_corrections_sheet_fk REFERENCES forecast_sheets (id),
    retailer_id INTEGER NOT NULL CONSTRAINT forecast_corrections_retailer_fk REFERENCES retailers (id),
    spec_id     INTEGER NOT NULL CONSTRAINT forecast_corrections_spec_fk REFERENCES specs (id),
    level       INTEGER NOT NULL CONSTRAINT forecast_corrections_level_check CHECK (level >= 1),
    unit_id     INTEGER NOT NULL CONSTRAINT forecast_corrections_unit_fk REFERENCES org_units (id),
    from_value  INTEGER,
    to_value    INTEGER NOT NULL CONSTRAINT forecast_corrections_to_check CHECK (to_value >= 0),
    reason      TEXT NOT NULL,
    actor_id    INTEGER NOT NULL CONSTRAINT forecast_corrections_actor_fk REFERENCES users (id),
    at          INTEGER NOT NULL
);
CREATE INDEX forecast_corrections_line_idx ON forecast_corrections (sheet_id, retailer_id, spec_id);

-- Submissions, approvals and returns of a sheet, with their comments.
CREATE TABLE forecast_reviews (
    id       INTEGER PRIMARY KEY,
    sheet_id INTEGER NOT NULL CONSTRAINT forecast_reviews_sheet_fk REFERENCES forecast_sheets (id),
    action   TEXT NOT NULL CONSTRAINT forecast_reviews_action_check CHECK (action IN ('submit', 'approve', 'return')),
    level    INTEGER NOT NULL,
    to_level INTEGER,
    comment  TEXT,
    actor_id INTEGER NOT NULL CONSTRAINT forecast_reviews_actor_fk REFERENCES users (id),
    at       INTEGER NOT NULL
);
CREATE INDEX forecast_reviews_sheet_idx ON forecast_reviews (sheet_id);

-- Company-wide orders per month and spec, kept with monthly_orders, so that
-- trends do not scan a month's order lines.
CREATE TABLE monthly_spec_totals (
    month     TEXT NOT NULL,
    spec_id   INTEGER NOT NULL CONSTRAINT monthly_spec_totals_spec_fk REFERENCES specs (id),
    cartons   INTEGER NOT NULL,
    retailers INTEGER NOT NULL,
    CONSTRAINT monthly_spec_totals_pkey PRIMARY KEY (month, spec_id)
);
INSERT INTO monthly_spec_totals (month, spec_id, cartons, retailers)
    SELECT month, spec_id, SUM(cartons), COUNT(*) FROM monthly_orders GROUP BY month, spec_id;

CREATE INDEX forecast_sheets_cycle_idx ON forecast_sheets (cycle_id);
CREATE INDEX forecast_lines_spec_idx ON forecast_lines (spec_id);
