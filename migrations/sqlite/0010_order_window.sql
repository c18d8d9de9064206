-- The order window (订货窗口), orders flowing on to the order and supply
-- system, and scarce supply allocation (货源投放). Keep in step with ../postgres.

-- An order can be changed and cancelled until its cutoff; each change moves
-- its version (compare-and-set). Cancelled orders are kept with their lines
-- (the demand they recorded) but count nowhere.
ALTER TABLE replenishment_orders ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed'
    CONSTRAINT replenishment_orders_status_check CHECK (status IN ('confirmed', 'cancelled'));
ALTER TABLE replenishment_orders ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE replenishment_orders ADD COLUMN updated_at INTEGER;
ALTER TABLE replenishment_orders ADD COLUMN updated_by INTEGER
    CONSTRAINT replenishment_orders_updated_by_fk REFERENCES users (id);
-- The retailer's class when it ordered (classes change each quarter).
ALTER TABLE replenishment_orders ADD COLUMN class_code TEXT;
-- Handed to the order and supply system (订单供货管理系统).
ALTER TABLE replenishment_orders ADD COLUMN exported_at INTEGER;
ALTER TABLE replenishment_orders ADD COLUMN exported_by INTEGER
    CONSTRAINT replenishment_orders_exported_by_fk REFERENCES users (id);
-- Deliveries loaded back from the order and supply system.
ALTER TABLE replenishment_orders ADD COLUMN delivered_at INTEGER;
ALTER TABLE replenishment_order_lines ADD COLUMN delivered INTEGER
    CONSTRAINT replenishment_order_lines_delivered_check CHECK (delivered >= 0);

UPDATE replenishment_orders SET class_code = (SELECT class_code FROM retailers r WHERE r.id = retailer_id);

CREATE INDEX replenishment_orders_date_idx ON replenishment_orders (order_date, status);
-- Orders placed and not yet delivered, netted in the next proposal.
CREATE INDEX replenishment_orders_open_idx ON replenishment_orders (retailer_id, order_date)
    WHERE delivered_at IS NULL AND status = 'confirmed';

-- A published allocation of a scarce spec's supply over a period of order
-- days: its per-class caps replace the standing caps for those days only.
CREATE TABLE allocations (
    id           INTEGER PRIMARY KEY,
    spec_id      INTEGER NOT NULL CONSTRAINT allocations_spec_fk REFERENCES specs (id),
    period_from  TEXT NOT NULL CONSTRAINT allocations_from_check CHECK (length(period_from) = 10),
    period_to    TEXT NOT NULL CONSTRAINT allocations_to_check CHECK (length(period_to) = 10),
    supply       INTEGER NOT NULL CONSTRAINT allocations_supply_check CHECK (supply >= 0),
    -- 'tier', 'demand' or 'equal'
    rule         TEXT NOT NULL,
    -- The classes of an 'equal' allocation, as a JSON array of codes.
    classes      TEXT,
    published_at INTEGER NOT NULL,
    published_by INTEGER NOT NULL CONSTRAINT allocations_published_by_fk REFERENCES users (id),
    withdrawn_at INTEGER,
    withdrawn_by INTEGER CONSTRAINT allocations_withdrawn_by_fk REFERENCES users (id),
    CONSTRAINT allocations_period_check CHECK (period_from <= period_to)
);
CREATE INDEX allocations_spec_idx ON allocations (spec_id, period_from);

CREATE TABLE allocation_caps (
    allocation_id INTEGER NOT NULL CONSTRAINT allocation_caps_allocation_fk REFERENCES allocations (id),
    -- The class as published (no reference: the plan filed stays as it
    -- was when classes are renamed or removed later).
    class_code    TEXT NOT NULL,
    class_label   TEXT NOT NULL,
    class_rank    INTEGER NOT NULL,
    cap           INTEGER NOT NULL CONSTRAINT allocation_caps_cap_check CHECK (cap >= 0),
    -- Enrolled retailers, and those with recorded demand in the period.
    retailers     INTEGER NOT NULL,
    with_demand   INTEGER NOT NULL,
    demand        INTEGER NOT NULL,
    expected      INTEGER NOT NULL,
    wanting       INTEGER NOT NULL,
    CONSTRAINT allocation_caps_pkey PRIMARY KEY (allocation_id, class_code)
);

-- The recorded demand of one spec (an allocation's preview) without
-- reading every retailer's settings.
CREATE INDEX retailer_specs_spec_idx ON retailer_specs (spec_id, retailer_id, weekly_turnover);
-- The enrolled retailers per class (online replenishment, open).
CREATE INDEX retailers_enrolled_idx ON retailers (online_replenishment, status, class_code);
