-- PostgreSQL checks a forecast line's references once per statement
-- instead of by four foreign-key triggers per row (see its 0014). SQLite
-- keeps its foreign keys, which cost little in-process: nothing changes here.
SELECT 1;
