-- Monthly demand forecasting (卷烟需求预测): cycles, their spec list and
-- retailers in scope, one sheet per customer manager, and the entered lines.
-- Keep in step with ../postgres.
--
-- The review chain keeps every level's value beside the customer manager's:
-- forecast_lines.entered is never overwritten by a reviewer; corrections get
-- their own rows and final_value holds the approved figure.

CREATE TABLE forecast_cycles (
    id              INTEGER PRIMARY KEY,
    month           TEXT NOT NULL CONSTRAINT forecast_cycles_month_key UNIQUE
                    CONSTRAINT forecast_cycles_month_check CHECK (length(month) = 7),
    scope           TEXT NOT NULL CONSTRAINT forecast_cycles_scope_check CHECK (scope IN ('all', 'sample')),
    sample_group    INTEGER CONSTRAINT forecast_cycles_group_check CHECK (sample_group BETWEEN 0 AND 2),
    submit_deadline TEXT NOT NULL,
    review_deadline TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CONSTRAINT forecast_cycles_status_check CHECK (status IN ('open', 'closed')),
    population      INTEGER NOT NULL,
    created_by      INTEGER NOT NULL CONSTRAINT forecast_cycles_created_by_fk REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    CONSTRAINT forecast_cycles_deadlines_check CHECK (submit_deadline <= review_deadline)
);

CREATE TABLE forecast_cycle_specs (
    cycle_id INTEGER NOT NULL CONSTRAINT forecast_cycle_specs_cycle_fk REFERENCES forecast_cycles (id),
    spec_id  INTEGER NOT NULL CONSTRAINT forecast_cycle_specs_spec_fk REFERENCES specs (id),
    position INTEGER NOT NULL,
    CONSTRAINT forecast_cycle_specs_pkey PRIMARY KEY (cycle_id, spec_id)
);

-- One sheet per customer manager with retailers in scope.
CREATE TABLE forecast_sheets (
    id             INTEGER PRIMARY KEY,
    cycle_id       INTEGER NOT NULL CONSTRAINT forecast_sheets_cycle_fk REFERENCES forecast_cycles (id),
    manager_id     INTEGER NOT NULL CONSTRAINT forecast_sheets_manager_fk REFERENCES users (id),
    status         TEXT NOT NULL DEFAULT 'not_started' CONSTRAINT forecast_sheets_status_check
                   CHECK (status IN ('not_started', 'draft', 'submitted', 'returned', 'approved')),
    reopened_until TEXT,
    submitted_at   INTEGER,
    CONSTRAINT forecast_sheets_manager_key UNIQUE (cycle_id, manager_id)
);

-- The retailers in a cycle's scope, fixed when it was opened.
CREATE TABLE forecast_cycle_retailers (
    cycle_id    INTEGER NOT NULL CONSTRAINT forecast_cycle_retailers_cycle_fk REFERENCES forecast_cycles (id),
    retailer_id INTEGER NOT NULL CONSTRAINT forecast_cycle_retailers_retailer_fk REFERENCES retailers (id),
    sheet_id    INTEGER NOT NULL CONSTRAINT forecast_cycle_retailers_sheet_fk REFERENCES forecast_sheets (id),
    CONSTRAINT forecast_cycle_retailers_pkey PRIMARY KEY (cycle_id, retailer_id)
);
CREATE INDEX forecast_cycle_retailers_sheet_idx ON forecast_cycle_retailers (sheet_id);

CREATE TABLE forecast_lines (
    sheet_id    INTEGER NOT NULL CONSTRAINT forecast_lines_sheet_fk REFERENCES forecast_sheets (id),
    retailer_id INTEGER NOT NULL CONSTRAINT forecast_lines_retailer_fk REFERENCES retailers (id),
    spec_id     INTEGER NOT NULL CONSTRAINT forecast_lines_spec_fk REFERENCES specs (id),
    -- The customer manager's value; NULL while cleared.
    entered     INTEGER CONSTRAINT forecast_lines_entered_check CHECK (entered >= 0),
    reason      TEXT,
    revision    INTEGER NOT NULL CONSTRAINT forecast_lines_revision_check CHECK (revision >= 1),
    -- The system baseline, recorded at submission.
    baseline    INTEGER,
    -- The approved value at the end of the review chain.
    final_value INTEGER CONSTRAINT forecast_lines_final_check CHECK (final_value >= 0),
    updated_by  INTEGER NOT NULL CONSTRAINT forecast_lines_updated_by_fk REFERENCES users (id),
    updated_at  INTEGER NOT NULL,
    CONSTRAINT forecast_lines_pkey PRIMARY KEY (sheet_id, retailer_id, spec_id)
);

-- Upper sanity bound per spec and class; the rules' default bound elsewhere.
CREATE TABLE forecast_bounds (
    spec_id     INTEGER NOT NULL CONSTRAINT forecast_bounds_spec_fk REFERENCES specs (id),
    class_code  TEXT NOT NULL CONSTRAINT forecast_bounds_class_fk REFERENCES customer_classes (code),
    max_cartons INTEGER NOT NULL CONSTRAINT forecast_bounds_max_check CHECK (max_cartons >= 0),
    CONSTRAINT forecast_bounds_pkey PRIMARY KEY (spec_id, class_code)
);
