-- The number of retailers in a cycle's scope, kept with the cycle (written
-- when the cycle is opened or replaced): every read of a cycle counted
-- them, 50 ms per cycle at province scale (300,600 retailers).
ALTER TABLE forecast_cycles ADD COLUMN retailers BIGINT;
UPDATE forecast_cycles SET retailers =
    (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.cycle_id = forecast_cycles.id);
