-- Foundation schema: organisation, people, retailers, catalogue, order history,
-- sessions, settings and the audit log. Keep in step with ../postgres.
-- Times are UNIX seconds; money is in fen; months are 'YYYY-MM'; flags are 0/1.

CREATE TABLE org_units (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER CONSTRAINT org_units_parent_fk REFERENCES org_units (id),
    kind      TEXT NOT NULL CONSTRAINT org_units_kind_check
              CHECK (kind IN ('marketing_center', 'county_department', 'market_department')),
    name      TEXT NOT NULL CONSTRAINT org_units_name_check CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT org_units_name_key UNIQUE (parent_id, name)
);

-- The configurable list of customer classes (档位); rank orders them (higher is better).
CREATE TABLE customer_classes (
    code  TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    rank  INTEGER NOT NULL CONSTRAINT customer_classes_rank_key UNIQUE
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    login           TEXT NOT NULL CONSTRAINT users_login_key UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CONSTRAINT users_role_check
                    CHECK (role IN ('retailer', 'customer_manager', 'market_manager', 'county_manager', 'marketing_center', 'admin')),
    org_unit_id     INTEGER NOT NULL CONSTRAINT users_org_unit_fk REFERENCES org_units (id),
    retailer_id     INTEGER CONSTRAINT users_retailer_key UNIQUE CONSTRAINT users_retailer_fk REFERENCES retailers (id),
    password_hash   TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    active          INTEGER NOT NULL DEFAULT 1 CONSTRAINT users_active_check CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    CONSTRAINT users_retailer_role_check CHECK ((role = 'retailer') = (retailer_id IS NOT NULL))
);

CREATE TABLE retailers (
    id                   INTEGER PRIMARY KEY,
    licence_no           TEXT NOT NULL CONSTRAINT retailers_licence_no_key UNIQUE,
    name                 TEXT NOT NULL,
    market_unit_id       INTEGER NOT NULL CONSTRAINT retailers_market_unit_fk REFERENCES org_units (id),
    manager_id           INTEGER NOT NULL CONSTRAINT retailers_manager_fk REFERENCES users (id),
    class_code           TEXT NOT NULL CONSTRAINT retailers_class_fk REFERENCES customer_classes (code),
    online_replenishment INTEGER NOT NULL DEFAULT 0 CONSTRAINT retailers_online_check CHECK (online_replenishment IN (0, 1)),
    address              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX retailers_manager_idx ON retailers (manager_id);
CREATE INDEX retailers_market_unit_idx ON retailers (market_unit_id);

CREATE TABLE specs (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL CONSTRAINT specs_code_key UNIQUE,
    brand        TEXT NOT NULL,
    name         TEXT NOT NULL CONSTRAINT specs_name_key UNIQUE,
    price_class  INTEGER NOT NULL CONSTRAINT specs_price_class_check CHECK (price_class BETWEEN 1 AND 5),
    wholesale_fen INTEGER NOT NULL CONSTRAINT specs_wholesale_check CHECK (wholesale_fen >= 0),
    retail_fen   INTEGER NOT NULL CONSTRAINT specs_retail_check CHECK (retail_fen >= 0),
    scarce       INTEGER NOT NULL DEFAULT 0 CONSTRAINT specs_scarce_check CHECK (scarce IN (0, 1)),
    is_new       INTEGER NOT NULL DEFAULT 0 CONSTRAINT specs_is_new_check CHECK (is_new IN (0, 1)),
    orderable    INTEGER NOT NULL DEFAULT 1 CONSTRAINT specs_orderable_check CHECK (orderable IN (0, 1))
);

-- Actual orders per retailer x spec x month, in cartons.
CREATE TABLE monthly_orders (
    retailer_id INTEGER NOT NULL CONSTRAINT monthly_orders_retailer_fk REFERENCES retailers (id),
    spec_id     INTEGER NOT NULL CONSTRAINT monthly_orders_spec_fk REFERENCES specs (id),
    month       TEXT NOT NULL CONSTRAINT monthly_orders_month_check CHECK (length(month) = 7),
    cartons     INTEGER NOT NULL CONSTRAINT monthly_orders_cartons_check CHECK (cartons >= 0),
    CONSTRAINT monthly_orders_pkey PRIMARY KEY (retailer_id, spec_id, month)
);
CREATE INDEX monthly_orders_month_idx ON monthly_orders (month, spec_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor_id  INTEGER CONSTRAINT audit_log_actor_fk REFERENCES users (id),
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry_date);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
