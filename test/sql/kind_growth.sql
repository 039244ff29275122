-- Check kind "table_growth": real tables bloated past max_rows (analyzed, never
-- analyzed, partitioned), missing tables, the bounded history, the least-squares
-- forecast and the growth per day (from synthetic past samples in slo_table_size,
-- the kind's own history table), privileges, and every validation error.
-- Sizes differ between platforms: they are compared with thresholds or masked.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

-- Summaries with sizes in kB and dates masked.
CREATE FUNCTION gr_mask(s text) RETURNS text LANGUAGE sql AS
  $$SELECT regexp_replace(regexp_replace(s, '[0-9.]+ kB', 'N kB', 'g'),
                          '[0-9]{4}-[0-9]{2}-[0-9]{2}', 'DATE', 'g')$$;

-- Autovacuum off: the sizes and row estimates change only when the test says so.
CREATE TABLE gr_favorites (id int, note text) WITH (autovacuum_enabled = off);
INSERT INTO gr_favorites SELECT g, repeat('x', 50) FROM generate_series(1, 1000) g;
ANALYZE gr_favorites;

-- Within limits.
SELECT slo_add_check('gr_rows', 'table_growth',
                     '{"tables": ["gr_favorites"], "max_rows": 1500}') > 0 AS added;
SELECT slo_add_check('gr_bytes', 'table_growth',
                     '{"tables": ["public.gr_favorites"], "max_bytes": 1073741824}') > 0 AS added;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'gr\_%' ORDER BY check_name;
-- value = the table's total size in bytes (with indexes and TOAST).
SELECT check_name, value = pg_total_relation_size('gr_favorites') AS value_is_size
  FROM slo_run_checks(false) WHERE check_name LIKE 'gr\_%' ORDER BY check_name;

-- Bloat it past max_rows: 2,000 rows after ANALYZE.
INSERT INTO gr_favorites SELECT g, repeat('x', 50) FROM generate_series(1001, 2000) g;
ANALYZE gr_favorites;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'gr\_%' ORDER BY check_name;
-- ... and past max_bytes: a limit just under its real size.
SELECT slo_alter_check('gr_bytes', params => jsonb_build_object(
         'tables', '["gr_favorites"]'::jsonb,
         'max_bytes', pg_total_relation_size('gr_favorites') - 1)) > 0 AS altered;
SELECT check_name, status, gr_mask(summary) AS summary,
       value = pg_total_relation_size('gr_favorites') AS value_is_size
  FROM slo_run_checks(false) WHERE check_name = 'gr_bytes';
-- Equal to the limit is not over it.
SELECT slo_alter_check('gr_bytes', params => jsonb_build_object(
         'tables', '["gr_favorites"]'::jsonb,
         'max_bytes', pg_total_relation_size('gr_favorites'))) > 0 AS altered;
SELECT check_name, status FROM slo_run_checks(false) WHERE check_name = 'gr_bytes';

-- A table never analyzed (reltuples = -1): the row estimate is the live tuple count.
CREATE TABLE gr_fresh (id int) WITH (autovacuum_enabled = off);
INSERT INTO gr_fresh SELECT generate_series(1, 300);
SELECT pg_stat_force_next_flush();
SELECT reltuples FROM pg_class WHERE oid = 'gr_fresh'::regclass;
SELECT slo_add_check('gr_fresh', 'table_growth',
                     '{"tables": ["gr_fresh"], "max_rows": 250}') > 0 AS added;
SELECT check_name, status, summary FROM slo_run_checks(false) WHERE check_name = 'gr_fresh';

-- A partitioned table is the sum of its partitions.
CREATE TABLE gr_events (id int, day date) PARTITION BY RANGE (day);
CREATE TABLE gr_events_1 PARTITION OF gr_events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')
  WITH (autovacuum_enabled = off);
CREATE TABLE gr_events_2 PARTITION OF gr_events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')
  WITH (autovacuum_enabled = off);
INSERT INTO gr_events SELECT g, date '2026-01-01' + (g % 50) FROM generate_series(1, 200) g;
ANALYZE gr_events;
SELECT slo_add_check('gr_partitioned', 'table_growth',
                     '{"tables": ["gr_events"], "max_rows": 150}') > 0 AS added;
SELECT check_name, status, summary, value = pg_total_relation_size('gr_events_1')
                                            + pg_total_relation_size('gr_events_2') AS value_is_sum
  FROM slo_run_checks(false) WHERE check_name = 'gr_partitioned';

-- Missing tables fail, named; the tables that exist are still judged.
SELECT slo_add_check('gr_missing', 'table_growth',
                     '{"tables": ["gr_favorites", "gr_media_assets"], "max_rows": 1500}') > 0 AS added;
SELECT slo_add_check('gr_missing2', 'table_growth',
                     '{"tables": ["gr_history", "app.gr_media_assets", "gr_fresh"], "max_rows": 1500}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'gr\_missing%' ORDER BY check_name;
SELECT jsonb_pretty(detail->'tables'->0) AS missing_detail
  FROM slo_run_checks(false) WHERE check_name = 'gr_missing';
-- The detail has figures per table, never row content.
SELECT DISTINCT jsonb_object_keys(t) AS detail_keys
  FROM slo_run_checks(false) r, jsonb_array_elements(r.detail->'tables') t
 WHERE check_name = 'gr_rows' ORDER BY 1;
-- A view is not a table: the check cannot run.
CREATE VIEW gr_view AS SELECT 1 AS one;
SELECT slo_add_check('gr_view', 'table_growth', '{"tables": ["gr_view"], "max_rows": 1}') > 0 AS added;
SELECT check_name, status, summary FROM slo_run_checks(false) WHERE check_name = 'gr_view';

-- History: one sample per table per hour at most, however often the check runs.
SELECT c.name, s.relid::regclass AS tbl, count(*) AS samples, bool_and(s.daily) AS daily
  FROM slo_table_size s JOIN slo_check c ON c.id = s.check_id
 GROUP BY 1, 2 ORDER BY 1, 2::text;
SELECT bool_and(s.bytes = pg_total_relation_size('gr_events_1') + pg_total_relation_size('gr_events_2')
                AND s.row_estimate = 200) AS partitioned_sample_ok
  FROM slo_table_size s JOIN slo_check c ON c.id = s.check_id WHERE c.name = 'gr_partitioned';

-- Forecast by least squares over the samples, from synthetic past samples of a real
-- table: 1,000 bytes and 10 rows a day for 6 days up to its real size now, with
-- zig-zag noise that cancels out in a least-squares fit but not between two points
-- (the last two give 800 bytes/day, the first and last 1,000).
CREATE TABLE gr_history (id int) WITH (autovacuum_enabled = off);
INSERT INTO gr_history SELECT generate_series(1, 500);
VACUUM ANALYZE gr_history;
SELECT pg_total_relation_size('gr_history') AS hsize \gset
SELECT slo_add_check('gr_forecast', 'table_growth', jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_bytes', :hsize + 3100,
         'max_rows', 100000, 'warn_days_to_limit', 5)) AS forecast_id \gset
INSERT INTO slo_table_size (check_id, relid, at, bytes, row_estimate, daily)
SELECT :forecast_id, 'gr_history'::regclass, now() - d * interval '1 day',
       :hsize - 1000 * d + noise, 500 - 10 * d, true
  FROM (VALUES (6, 0), (5, 400), (4, -400), (3, -400), (2, 400), (1, 0)) AS v(d, noise);
SELECT check_name, status, gr_mask(summary) AS summary, value = :hsize AS value_is_size,
       round((detail->'tables'->0->>'bytes_per_day')::numeric) AS bytes_per_day,
       round((detail->'tables'->0->>'rows_per_day')::numeric) AS rows_per_day,
       round((detail->'tables'->0->>'days_to_max_bytes')::numeric, 1) AS days_to_max_bytes,
       round((detail->'tables'->0->>'days_to_max_rows')::numeric) AS days_to_max_rows,
       (detail->'tables'->0->>'samples')::int AS samples
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
-- The forecast date is now + 3.1 days.
SELECT substring(summary FROM '\((.*)\)')::date = (now() + interval '3.1 days')::date AS date_ok
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
-- Further away than warn_days_to_limit: ok, with the forecast in the summary.
SELECT slo_alter_check('gr_forecast', params => jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_bytes', :hsize + 3100,
         'warn_days_to_limit', 3)) > 0 AS altered;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
-- The row forecast: max_rows 520 is 2 days away at 10 rows a day.
SELECT slo_alter_check('gr_forecast', params => jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_bytes', :hsize + 1000000,
         'max_rows', 520)) > 0 AS altered;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
-- Growth per day, fitted over the last day of samples: 1,000 bytes.
SELECT slo_alter_check('gr_forecast', params => jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_growth_per_day', 900)) > 0 AS altered;
SELECT check_name, status, summary,
       round((detail->'tables'->0->>'growth_last_day')::numeric) AS growth_last_day
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
SELECT slo_alter_check('gr_forecast', params => jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_growth_per_day', 1100)) > 0 AS altered;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';
-- A table that does not grow has no forecast.
UPDATE slo_table_size SET bytes = :hsize, row_estimate = 500 WHERE check_id = :forecast_id;
SELECT slo_alter_check('gr_forecast', params => jsonb_build_object(
         'tables', '["gr_history"]'::jsonb, 'max_bytes', :hsize + 10)) > 0 AS altered;
SELECT check_name, status, gr_mask(summary) AS summary,
       detail->'tables'->0->'days_to_max_bytes' AS days_to_max_bytes
  FROM slo_run_checks(false) WHERE check_name = 'gr_forecast';

-- Several tables: the summary is about the worst one, and counts the others.
SELECT slo_add_check('gr_several', 'table_growth', jsonb_build_object(
         'tables', '["gr_fresh", "gr_history", "gr_favorites", "gr_events"]'::jsonb,
         'max_rows', 1000)) AS several_id \gset
SELECT check_name, status, summary, detail->>'tables_total' AS tables_total,
       detail->'tables'->0->>'table' AS worst, detail->'tables'->1->>'status' AS next_status
  FROM slo_run_checks(false) WHERE check_name = 'gr_several';

-- Retention: samples past 35 days go, and samples past 7 days unless daily; each
-- run that stores samples trims them in batches.
DELETE FROM slo_table_size WHERE check_id = :several_id;
INSERT INTO slo_table_size (check_id, relid, at, bytes, row_estimate, daily)
SELECT :several_id, 'gr_fresh'::regclass, now() - a, 8192, 300, d
  FROM (VALUES (interval '40 days', true), (interval '36 days', false),
               (interval '7 days 12 hours', true), (interval '7 days 11 hours', false),
               (interval '7 days 10 hours', false), (interval '3 days', false)) AS v(a, d);
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'gr_several';
SELECT relid::regclass AS tbl, date_trunc('hour', now() - at + interval '30 minutes') AS age, daily
  FROM slo_table_size WHERE check_id = :several_id ORDER BY 1::text, 2 DESC;

-- The check runs as its owner, who needs no privilege on the tables (sizes only);
-- the samples are written by the extension owner.
CREATE ROLE regress_slo_growth;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
   TO regress_slo_growth;
SET ROLE regress_slo_growth;
SELECT slo_add_check('gr_by_role', 'table_growth',
                     '{"tables": ["gr_favorites"], "max_rows": 5000}') > 0 AS added;
-- (the role cannot read the history table itself)
SELECT count(*) FROM slo_table_size;
RESET ROLE;
SELECT check_name, status, gr_mask(summary) AS summary
  FROM slo_run_checks(false) WHERE check_name = 'gr_by_role';
SELECT count(*) AS samples FROM slo_table_size s JOIN slo_check c ON c.id = s.check_id
 WHERE c.name = 'gr_by_role';

-- Dropping a check drops its history.
SELECT slo_drop_check('gr_forecast');
SELECT count(*) AS left_over FROM slo_table_size WHERE check_id = :forecast_id;

-- Validation: each mistake is refused with 22023 naming the key and value.
SELECT slo_add_check('gr_bad', 'table_growth', '{}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": [], "max_rows": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": "gr_favorites", "max_rows": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": [""], "max_rows": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["a.b.c"], "max_rows": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["no such table"], "max_rows": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"]}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_bytes": -1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_bytes": "50 GB"}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_rows": -5}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_growth_per_day": -1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_bytes": 1, "warn_days_to_limit": 0}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_bytes": 1, "warn_days_to_limit": -2}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_bytes": 1, "warn_days_to_limit": true}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_growth_per_day": 1, "warn_days_to_limit": 7}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_size": 1}');
SELECT slo_add_check('gr_bad', 'table_growth', '{"tables": ["gr_favorites"], "max_rows": null}');
SELECT slo_alter_check('gr_rows', params => '{"tables": ["gr_favorites"], "max_rows": -1}');
SELECT count(*) AS bad_checks_added FROM slo_check WHERE name = 'gr_bad';

-- Clean up.
DROP EXTENSION slo_guard;
DROP FUNCTION gr_mask(text);
DROP VIEW gr_view;
DROP TABLE gr_favorites, gr_fresh, gr_events, gr_history;
DROP ROLE regress_slo_growth;
