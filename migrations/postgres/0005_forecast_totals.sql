-- Per-sheet summaries for the marketing center's dashboard, rebuilt for one
-- sheet whenever its submitted values change (submission, correction,
-- approval, an edit after a return). The dashboard then reads a few rows per
-- sheet instead of every line of the cycle. Keep in step with ../sqlite.

-- Totals of a sheet's submitted lines per spec (kind 'spec', key = spec id)
-- and per customer class (kind 'class', key = class code).
CREATE TABLE forecast_sheet_totals (
    sheet_id   BIGINT NOT NULL CONSTRAINT forecast_sheet_totals_sheet_fk REFERENCES forecast_sheets (id),
    kind       TEXT NOT NULL CONSTRAINT forecast_sheet_totals_kind_check CHECK (kind IN ('spec', 'class')),
    key        TEXT NOT NULL,
    lines      BIGINT NOT NULL,
    forecast   BIGINT NOT NULL,
    approved   BIGINT NOT NULL,
    entered    BIGINT NOT NULL,
    baseline   BIGINT NOT NULL,
    last_month BIGINT NOT NULL,
    last_year  BIGINT NOT NULL,
    CONSTRAINT forecast_sheet_totals_pkey PRIMARY KEY (sheet_id, kind, key)
);

-- The lines of each sheet furthest from their baseline.
CREATE TABLE forecast_sheet_deviations (
    sheet_id    BIGINT NOT NULL CONSTRAINT forecast_sheet_deviations_sheet_fk REFERENCES forecast_sheets (id),
    retailer_id BIGINT NOT NULL,
    spec_id     BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    baseline    BIGINT NOT NULL,
    CONSTRAINT forecast_sheet_deviations_pkey PRIMARY KEY (sheet_id, retailer_id, spec_id)
);

INSERT INTO forecast_sheet_totals
    SELECT l.sheet_id, 'spec', CAST(l.spec_id AS TEXT), COUNT(*),
           SUM(COALESCE(l.final_value, l.current_value, l.entered, 0)), COALESCE(SUM(l.final_value), 0),
           COALESCE(SUM(l.entered), 0), COALESCE(SUM(l.baseline), 0), COALESCE(SUM(l.last_month), 0),
           COALESCE(SUM(l.last_year), 0)
    FROM forecast_lines l WHERE l.baseline IS NOT NULL GROUP BY l.sheet_id, l.spec_id;
INSERT INTO forecast_sheet_totals
    SELECT l.sheet_id, 'class', r.class_code, COUNT(*),
           SUM(COALESCE(l.final_value, l.current_value, l.entered, 0)), COALESCE(SUM(l.final_value), 0),
           COALESCE(SUM(l.entered), 0), COALESCE(SUM(l.baseline), 0), COALESCE(SUM(l.last_month), 0),
           COALESCE(SUM(l.last_year), 0)
    FROM forecast_lines l JOIN retailers r ON r.id = l.retailer_id
    WHERE l.baseline IS NOT NULL GROUP BY l.sheet_id, r.class_code;
INSERT INTO forecast_sheet_deviations
    SELECT sheet_id, retailer_id, spec_id, value, baseline FROM (
        SELECT l.sheet_id, l.retailer_id, l.spec_id, COALESCE(l.final_value, l.current_value, l.entered, 0) AS value,
               l.baseline,
               ROW_NUMBER() OVER (PARTITION BY l.sheet_id
                                  ORDER BY ABS(COALESCE(l.final_value, l.current_value, l.entered, 0) - l.baseline) DESC,
                                           l.retailer_id, l.spec_id) AS n
        FROM forecast_lines l WHERE l.baseline IS NOT NULL) ranked
    WHERE n <= 20;
