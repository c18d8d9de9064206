-- Online replenishment (网上配货): policy caps, retailers' per-spec settings
-- with their change history, and confirmed orders. Keep in step with ../postgres.

ALTER TABLE specs ADD COLUMN order_multiple INTEGER NOT NULL DEFAULT 1
    CONSTRAINT specs_order_multiple_check CHECK (order_multiple BETWEEN 1 AND 50);
-- Cap per order for classes without a row in class_caps.
ALTER TABLE specs ADD COLUMN default_cap INTEGER NOT NULL DEFAULT 50
    CONSTRAINT specs_default_cap_check CHECK (default_cap >= 0);

-- Total cap per order for the class; NULL: none.
ALTER TABLE customer_classes ADD COLUMN total_cap INTEGER
    CONSTRAINT customer_classes_total_cap_check CHECK (total_cap >= 0);

-- Order day of the week, 1 (Monday) to 7 (Sunday).
ALTER TABLE retailers ADD COLUMN order_weekday INTEGER NOT NULL DEFAULT 1
    CONSTRAINT retailers_order_weekday_check CHECK (order_weekday BETWEEN 1 AND 7);
-- Bumped by every save of the retailer's settings (optimistic concurrency).
ALTER TABLE retailers ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE class_caps (
    spec_id    INTEGER NOT NULL CONSTRAINT class_caps_spec_fk REFERENCES specs (id),
    class_code TEXT NOT NULL CONSTRAINT class_caps_class_fk REFERENCES customer_classes (code),
    cap        INTEGER NOT NULL CONSTRAINT class_caps_cap_check CHECK (cap >= 0),
    CONSTRAINT class_caps_pkey PRIMARY KEY (spec_id, class_code)
);

CREATE TABLE retailer_specs (
    retailer_id     INTEGER NOT NULL CONSTRAINT retailer_specs_retailer_fk REFERENCES retailers (id),
    spec_id         INTEGER NOT NULL CONSTRAINT retailer_specs_spec_fk REFERENCES specs (id),
    stock           INTEGER NOT NULL CONSTRAINT retailer_specs_stock_check CHECK (stock >= 0),
    lower_limit     INTEGER NOT NULL CONSTRAINT retailer_specs_lower_check CHECK (lower_limit >= 0),
    upper_limit     INTEGER NOT NULL CONSTRAINT retailer_specs_upper_check CHECK (upper_limit >= lower_limit),
    weekly_turnover INTEGER NOT NULL CONSTRAINT retailer_specs_turnover_check CHECK (weekly_turnover >= 0),
    updated_at      INTEGER NOT NULL,
    updated_by      INTEGER CONSTRAINT retailer_specs_updated_by_fk REFERENCES users (id),
    CONSTRAINT retailer_specs_pkey PRIMARY KEY (retailer_id, spec_id)
);

-- One row per changed value; old_value NULL when a spec was added, new_value NULL when removed.
CREATE TABLE settings_changes (
    id          INTEGER PRIMARY KEY,
    retailer_id INTEGER NOT NULL CONSTRAINT settings_changes_retailer_fk REFERENCES retailers (id),
    spec_id     INTEGER NOT NULL CONSTRAINT settings_changes_spec_fk REFERENCES specs (id),
    at          INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL CONSTRAINT settings_changes_actor_fk REFERENCES users (id),
    field       TEXT NOT NULL CONSTRAINT settings_changes_field_check
                CHECK (field IN ('spec', 'stock', 'lower', 'upper', 'weekly_turnover')),
    old_value   INTEGER,
    new_value   INTEGER
);
CREATE INDEX settings_changes_retailer_idx ON settings_changes (retailer_id, id);

CREATE TABLE replenishment_orders (
    id            INTEGER PRIMARY KEY,
    retailer_id   INTEGER NOT NULL CONSTRAINT replenishment_orders_retailer_fk REFERENCES retailers (id),
    order_date    TEXT NOT NULL CONSTRAINT replenishment_orders_date_check CHECK (length(order_date) = 10),
    confirmed_at  INTEGER NOT NULL,
    confirmed_by  INTEGER NOT NULL CONSTRAINT replenishment_orders_confirmed_by_fk REFERENCES users (id),
    total_cartons INTEGER NOT NULL,
    total_fen     INTEGER NOT NULL,
    CONSTRAINT replenishment_orders_day_key UNIQUE (retailer_id, order_date)
);

CREATE TABLE replenishment_order_lines (
    order_id INTEGER NOT NULL CONSTRAINT replenishment_order_lines_order_fk REFERENCES replenishment_orders (id),
    spec_id  INTEGER NOT NULL CONSTRAINT replenishment_order_lines_spec_fk REFERENCES specs (id),
    wanted   INTEGER NOT NULL,
    proposed INTEGER NOT NULL,
    quantity INTEGER NOT NULL CONSTRAINT replenishment_order_lines_quantity_check CHECK (quantity >= 0),
    cut_off  INTEGER NOT NULL CONSTRAINT replenishment_order_lines_cut_off_check CHECK (cut_off >= 0),
    CONSTRAINT replenishment_order_lines_pkey PRIMARY KEY (order_id, spec_id)
);
