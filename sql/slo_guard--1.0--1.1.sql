-- slo_guard 1.0 -> 1.1 (ALTER EXTENSION slo_guard UPDATE).
-- Every schema change since 1.0 lands here as well as in sql/slo_guard.sql; the upgrade
-- test compares an upgraded 1.0 install with a fresh 1.1 install, catalog by catalog.
\echo Use "ALTER EXTENSION slo_guard UPDATE" to load this file. \quit
