-- Per-sheet summaries for the accuracy report (预测准确率), kept like the
-- dashboard's (0005): rebuilt for a sheet when its approved values are set
-- (final approval), and for every sheet of a month's cycles when that
-- month's actual orders are loaded or replaced. The report then reads a few
-- rows per sheet instead of joining every approved line to monthly_orders.
-- Keep in step with ../postgres and store::summary::refresh_accuracy.

-- Sums of a sheet's approved lines against the actual orders of its cycle's
-- month (domain AccuracySums), per spec (kind 'spec', key = spec id) and for
-- the whole sheet (kind 'sheet', key 0).
CREATE TABLE forecast_sheet_accuracy (
    sheet_id       INTEGER NOT NULL CONSTRAINT forecast_sheet_accuracy_sheet_fk REFERENCES forecast_sheets (id),
    kind           TEXT NOT NULL CONSTRAINT forecast_sheet_accuracy_kind_check CHECK (kind IN ('sheet', 'spec')),
    key            INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    actual         INTEGER NOT NULL,
    approved       INTEGER NOT NULL,
    entered        INTEGER NOT NULL,
    baseline       INTEGER NOT NULL,
    approved_error INTEGER NOT NULL,
    entered_error  INTEGER NOT NULL,
    baseline_error INTEGER NOT NULL,
    CONSTRAINT forecast_sheet_accuracy_pkey PRIMARY KEY (sheet_id, kind, key)
);

-- A sheet's retailers by approved error, largest first (place 1); the
-- first 2,000 are kept, as many as the report lists for one manager.
CREATE TABLE forecast_sheet_accuracy_retailers (
    sheet_id       INTEGER NOT NULL CONSTRAINT forecast_sheet_accuracy_retailers_sheet_fk REFERENCES forecast_sheets (id),
    place          INTEGER NOT NULL,
    retailer_id    INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    actual         INTEGER NOT NULL,
    approved       INTEGER NOT NULL,
    entered        INTEGER NOT NULL,
    baseline       INTEGER NOT NULL,
    approved_error INTEGER NOT NULL,
    entered_error  INTEGER NOT NULL,
    baseline_error INTEGER NOT NULL,
    CONSTRAINT forecast_sheet_accuracy_retailers_pkey PRIMARY KEY (sheet_id, place)
);

-- A sheet's approved lines furthest from the actual orders, furthest first
-- (place 1); the first 50 are kept, as many as the report lists.
CREATE TABLE forecast_sheet_accuracy_lines (
    sheet_id    INTEGER NOT NULL CONSTRAINT forecast_sheet_accuracy_lines_sheet_fk REFERENCES forecast_sheets (id),
    place       INTEGER NOT NULL,
    retailer_id INTEGER NOT NULL,
    spec_id     INTEGER NOT NULL,
    approved    INTEGER NOT NULL,
    entered     INTEGER NOT NULL,
    baseline    INTEGER NOT NULL,
    actual      INTEGER NOT NULL,
    CONSTRAINT forecast_sheet_accuracy_lines_pkey PRIMARY KEY (sheet_id, place)
);

-- The summaries of the data already there.
INSERT INTO forecast_sheet_accuracy
    (sheet_id, kind, key, lines, actual, approved, entered, baseline, approved_error, entered_error, baseline_error)
    SELECT l.sheet_id, 'spec', l.spec_id, COUNT(*), SUM(COALESCE(m.cartons, 0)), SUM(l.final_value),
           SUM(COALESCE(l.entered, 0)), SUM(COALESCE(l.baseline, 0)),
           SUM(ABS(l.final_value - COALESCE(m.cartons, 0))), SUM(ABS(COALESCE(l.entered, 0) - COALESCE(m.cartons, 0))),
           SUM(ABS(COALESCE(l.baseline, 0) - COALESCE(m.cartons, 0)))
    FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id JOIN forecast_cycles c ON c.id = s.cycle_id
    LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = c.month
    WHERE l.final_value IS NOT NULL GROUP BY l.sheet_id, l.spec_id;
INSERT INTO forecast_sheet_accuracy
    (sheet_id, kind, key, lines, actual, approved, entered, baseline, approved_error, entered_error, baseline_error)
    SELECT sheet_id, 'sheet', 0, SUM(lines), SUM(actual), SUM(approved), SUM(entered), SUM(baseline),
           SUM(approved_error), SUM(entered_error), SUM(baseline_error)
    FROM forecast_sheet_accuracy WHERE kind = 'spec' GROUP BY sheet_id;
INSERT INTO forecast_sheet_accuracy_retailers
    (sheet_id, place, retailer_id, lines, actual, approved, entered, baseline, approved_error, entered_error, baseline_error)
    SELECT sheet_id, place, retailer_id, lines, actual, approved, entered, baseline, approved_error, entered_error,
           baseline_error
    FROM (
        SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.sheet_id ORDER BY t.approved_error DESC, t.retailer_id) AS place
        FROM (
            SELECT l.sheet_id, l.retailer_id, COUNT(*) AS lines, SUM(COALESCE(m.cartons, 0)) AS actual,
                   SUM(l.final_value) AS approved, SUM(COALESCE(l.entered, 0)) AS entered,
                   SUM(COALESCE(l.baseline, 0)) AS baseline,
                   SUM(ABS(l.final_value - COALESCE(m.cartons, 0))) AS approved_error,
                   SUM(ABS(COALESCE(l.entered, 0) - COALESCE(m.cartons, 0))) AS entered_error,
                   SUM(ABS(COALESCE(l.baseline, 0) - COALESCE(m.cartons, 0))) AS baseline_error
            FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id JOIN forecast_cycles c ON c.id = s.cycle_id
            LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = c.month
            WHERE l.final_value IS NOT NULL GROUP BY l.sheet_id, l.retailer_id) t) ranked
    WHERE place <= 2000;
INSERT INTO forecast_sheet_accuracy_lines
    (sheet_id, place, retailer_id, spec_id, approved, entered, baseline, actual)
    SELECT sheet_id, place, retailer_id, spec_id, approved, entered, baseline, actual
    FROM (
        SELECT l.sheet_id, l.retailer_id, l.spec_id, l.final_value AS approved, COALESCE(l.entered, 0) AS entered,
               COALESCE(l.baseline, 0) AS baseline, COALESCE(m.cartons, 0) AS actual,
               ROW_NUMBER() OVER (PARTITION BY l.sheet_id
                                  ORDER BY ABS(l.final_value - COALESCE(m.cartons, 0)) DESC, l.retailer_id, l.spec_id) AS place
        FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id JOIN forecast_cycles c ON c.id = s.cycle_id
        LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = c.month
        WHERE l.final_value IS NOT NULL) ranked
    WHERE place <= 50;
