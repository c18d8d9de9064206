-- Summaries for the sales and stock analysis (经营分析), kept up to date
-- where orders, stock and plans are written, so that the analysis pages
-- read a few thousand summary rows instead of scanning the order lines.
-- Keep in step with ../sqlite.
--
-- Sales are attributed to the retailer's customer manager and market
-- department as they are when the month's orders are written (rebuilt for
-- the managers concerned when retailers move).

-- Orders per month, customer manager, market department and spec.
CREATE TABLE sales_manager_month (
    month      TEXT NOT NULL,
    manager_id BIGINT NOT NULL,
    unit_id    BIGINT NOT NULL,
    spec_id    BIGINT NOT NULL,
    cartons    BIGINT NOT NULL,
    retailers  BIGINT NOT NULL,
    CONSTRAINT sales_manager_month_pkey PRIMARY KEY (month, manager_id, unit_id, spec_id)
);
CREATE INDEX sales_manager_month_manager_idx ON sales_manager_month (manager_id, month);

-- Orders per month, market department and spec.
CREATE TABLE sales_unit_month (
    month     TEXT NOT NULL,
    unit_id   BIGINT NOT NULL,
    spec_id   BIGINT NOT NULL,
    cartons   BIGINT NOT NULL,
    retailers BIGINT NOT NULL,
    CONSTRAINT sales_unit_month_pkey PRIMARY KEY (month, unit_id, spec_id)
);
CREATE INDEX sales_unit_month_unit_idx ON sales_unit_month (unit_id, month);

-- Confirmed online orders per week (its Monday), manager, department and spec.
CREATE TABLE sales_week (
    week       TEXT NOT NULL,
    manager_id BIGINT NOT NULL,
    unit_id    BIGINT NOT NULL,
    spec_id    BIGINT NOT NULL,
    cartons    BIGINT NOT NULL,
    CONSTRAINT sales_week_pkey PRIMARY KEY (week, manager_id, unit_id, spec_id)
);
CREATE INDEX sales_week_manager_idx ON sales_week (manager_id, week);
CREATE INDEX sales_week_unit_idx ON sales_week (unit_id, week);

-- Retailers' recorded stock (社会库存) per customer manager, department and
-- spec: cartons held and how many retailers hold any.
CREATE TABLE stock_manager_spec (
    manager_id BIGINT NOT NULL,
    unit_id    BIGINT NOT NULL,
    spec_id    BIGINT NOT NULL,
    stock      BIGINT NOT NULL,
    holders    BIGINT NOT NULL,
    CONSTRAINT stock_manager_spec_pkey PRIMARY KEY (manager_id, unit_id, spec_id)
);
CREATE INDEX stock_manager_spec_unit_idx ON stock_manager_spec (unit_id);

-- Each retailer recording stock: its total and how many specs it holds.
CREATE TABLE stock_retailer (
    retailer_id BIGINT PRIMARY KEY,
    manager_id  BIGINT NOT NULL,
    unit_id     BIGINT NOT NULL,
    stock       BIGINT NOT NULL,
    specs       BIGINT NOT NULL
);
CREATE INDEX stock_retailer_manager_idx ON stock_retailer (manager_id);
CREATE INDEX stock_retailer_unit_idx ON stock_retailer (unit_id);

-- Sales plans per market department and month, in cartons.
CREATE TABLE sales_plans (
    unit_id    BIGINT NOT NULL CONSTRAINT sales_plans_unit_fk REFERENCES org_units (id),
    month      TEXT NOT NULL CONSTRAINT sales_plans_month_check CHECK (length(month) = 7),
    cartons    BIGINT NOT NULL CONSTRAINT sales_plans_cartons_check CHECK (cartons >= 0),
    updated_by BIGINT NOT NULL CONSTRAINT sales_plans_updated_by_fk REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    CONSTRAINT sales_plans_pkey PRIMARY KEY (unit_id, month)
);

INSERT INTO sales_manager_month (month, manager_id, unit_id, spec_id, cartons, retailers)
    SELECT m.month, r.manager_id, r.market_unit_id, m.spec_id, SUM(m.cartons), COUNT(*)
    FROM monthly_orders m JOIN retailers r ON r.id = m.retailer_id
    GROUP BY m.month, r.manager_id, r.market_unit_id, m.spec_id;
INSERT INTO sales_unit_month (month, unit_id, spec_id, cartons, retailers)
    SELECT month, unit_id, spec_id, SUM(cartons), SUM(retailers)
    FROM sales_manager_month GROUP BY month, unit_id, spec_id;
INSERT INTO stock_manager_spec (manager_id, unit_id, spec_id, stock, holders)
    SELECT r.manager_id, r.market_unit_id, s.spec_id, SUM(s.stock), SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END)
    FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id
    GROUP BY r.manager_id, r.market_unit_id, s.spec_id;
INSERT INTO stock_retailer (retailer_id, manager_id, unit_id, stock, specs)
    SELECT r.id, r.manager_id, r.market_unit_id, SUM(s.stock), SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END)
    FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id
    GROUP BY r.id, r.manager_id, r.market_unit_id;
INSERT INTO sales_week (week, manager_id, unit_id, spec_id, cartons)
    SELECT to_char(date_trunc('week', CAST(o.order_date AS DATE)), 'YYYY-MM-DD'), r.manager_id, r.market_unit_id, l.spec_id, SUM(l.quantity)
    FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id
    JOIN retailers r ON r.id = o.retailer_id
    GROUP BY 1, r.manager_id, r.market_unit_id, l.spec_id;
