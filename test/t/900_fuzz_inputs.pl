# Issue 15: the seeded random-input test.  A PL/pgSQL generator (seeded with
# setseed(), so a seed replays exactly) makes SLO_FUZZ_N documents (10,000 by
# default) over every kind's params (the kinds and their keys read from
# slo_kinds()), slo_alter_check, objective arguments and, when slo_add_target
# exists, every target kind's params: wrong types, deep nesting, huge strings,
# NUL escapes (\u0000), unicode, extreme numbers and intervals.  Every call must
# be a clean error (any SQLSTATE but XX000; the session survives; the server
# stays up) or a valid check, and every valid check then runs and gives a result.
#
#   SLO_FUZZ_SEED=12345 SLO_FUZZ_N=100000 SLO_TEST_ONLY=t/900 bash scripts/test.sh
#   SLO_FUZZ_SEED=random ...     (a random seed, printed so a failure can be replayed)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $n = $ENV{SLO_FUZZ_N} // 10000;
my $seed = $ENV{SLO_FUZZ_SEED} // 15;
$seed = int(rand(2**31)) if $seed eq 'random';
die "SLO_FUZZ_N must be a number" unless $n =~ /^\d+$/;
die "SLO_FUZZ_SEED must be a number or 'random'" unless $seed =~ /^\d+$/;
diag "fuzz: seed $seed, $n documents (replay: SLO_FUZZ_SEED=$seed SLO_FUZZ_N=$n)";
# setseed() takes -1..1; each chunk of documents gets its own, from the seed
sub pgseed { my ($k) = @_; return (($seed + $k) % 2000000) / 1000000.0 - 1.0; }

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
slo_guard.check_timeout = 500ms
max_stack_depth = 2MB
});
$node->start;

$node->safe_psql('postgres', <<'SQL');
CREATE EXTENSION slo_guard;
CREATE TABLE fz_outcome (i int, what text, kind text, outcome text, message text);

CREATE FUNCTION fz_pick(a text[]) RETURNS text LANGUAGE sql AS
$$ SELECT a[1 + floor(random() * array_length(a, 1))::int] $$;

-- a string: interval-like, names, queries, unicode, huge, control characters
CREATE FUNCTION fz_str() RETURNS text LANGUAGE plpgsql AS $$
DECLARE r float8 := random();
BEGIN
  IF r < 0.30 THEN
    RETURN fz_pick(ARRAY['116834123 years 8 months', '300000 years', '1 microsecond', '0.4 ms',
      '-5 minutes', '1 year 6 days', '1 year', '360 days', '5 minutes', '1 second', '0',
      '2147483647 days', '-2147483648 months', 'P1Y2M', '@ 1 hour ago', 'infinity', '1e308 s',
      '178000000 years', '-178000000 years', '1 second -1 second', '00:00:00.000001',
      '99999999999999999999 years', 'soon', '', ' ', '10 ms', '1 mon -29 days']);
  ELSIF r < 0.50 THEN
    RETURN fz_pick(ARRAY['pg_class', 'pg_catalog.pg_class', 'relname', 'now', 'now()',
      'pg_catalog.now()', 'f(int, text)', 'work_mem', 'server_version', 'app.region', '4MB',
      'fz_base_sql', 'fz_base_missing', 'alembic', 'flyway', 'public', 'pg_catalog',
      '"weird""name"', 'a.b.c.d.e', 'users', '.', '..', '"', '''', '\', 'block', 'true']);
  ELSIF r < 0.65 THEN
    RETURN fz_pick(ARRAY['SELECT 1', 'SELECT count(*) FROM pg_class', 'SELECT 1 FOR UPDATE',
      'SELECT count(*) FROM (SELECT 1 FROM pg_class FOR SHARE) s', 'SELECT NULL',
      'SELECT ''x''', 'SELECT 1e308::float8 * 10', 'SELECT ''NaN''::float8',
      'SELECT ''Infinity''::float8', 'SELECT 1, 2', 'SELECT', 'DELETE FROM pg_class',
      'WITH d AS (DELETE FROM fz_outcome RETURNING 1) SELECT count(*) FROM d', 'EXPLAIN SELECT 1',
      'SELECT 1; SELECT 2', 'VALUES (1)', 'SELECT 1/0', 'SELECT pg_sleep(0.01)',
      'SELECT repeat(''x'', 1000000)', 'SELECT generate_series(1, 3)', '(((((', 'SELECT $1',
      'SELECT * INTO t FROM pg_class', 'TABLE pg_class', 'SELECT count(*) FROM fz_outcome']);
  ELSIF r < 0.75 THEN
    RETURN fz_pick(ARRAY['日本語', 'Ünïcödé', '🙂🙃', E'\u202e', E'\t\n\r', E'\x01\x7f',
      'zero-width' || E'\u200b', 'ü' || repeat('é', 300), 'ʕ•ᴥ•ʔ']);
  ELSIF r < 0.80 THEN
    RETURN repeat(fz_pick(ARRAY['a', 'é', '🙂', 'x ']), (random() * 100000)::int);
  ELSE
    RETURN substr(md5(random()::text), 1, (random() * 32)::int);
  END IF;
END $$;

CREATE FUNCTION fz_num() RETURNS jsonb LANGUAGE sql AS $$
  SELECT fz_pick(ARRAY['0', '-1', '1', '0.5', '0.95', '1.5', '100', '101', '-0.0001', '1e308',
    '-1e308', '1e-308', '1e1000', '-1e1000', '123456789012345678901234567890', '2147483648',
    '9223372036854775808', '0.1e-999', '50', '80', '95', '10', '1000000'])::jsonb
  || '[]'::jsonb -> 0 $$;

-- a JSON value, nested up to depth 4 (deeper nesting comes as text below)
CREATE FUNCTION fz_val(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r float8 := random(); o jsonb;
BEGIN
  IF r < 0.45 OR depth > 3 THEN RETURN to_jsonb(fz_str());
  ELSIF r < 0.65 THEN RETURN fz_pick(ARRAY['0', '-1', '1', '0.5', '0.95', '1.5', '100', '1e308',
      '-1e308', '1e-308', '1e1000', '123456789012345678901234567890', '9223372036854775808',
      '80', '95', '10'])::jsonb;
  ELSIF r < 0.72 THEN RETURN to_jsonb(random() < 0.5);
  ELSIF r < 0.76 THEN RETURN 'null'::jsonb;
  ELSIF r < 0.90 THEN
    SELECT coalesce(jsonb_agg(fz_val(depth + 1)), '[]') INTO o FROM generate_series(1, (random() * 4)::int);
    RETURN o;
  ELSE
    SELECT coalesce(jsonb_object_agg(fz_str(), fz_val(depth + 1)), '{}') INTO o
      FROM generate_series(1, (random() * 3)::int);
    RETURN o;
  END IF;
END $$;

-- a plausible value for a key, so that a share of documents are valid
CREATE FUNCTION fz_plausible(key text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE key
    WHEN 'tables' THEN '["pg_class"]' WHEN 'table' THEN '"pg_class"'
    WHEN 'columns' THEN '["relname"]' WHEN 'functions' THEN '["now"]'
    WHEN 'name' THEN '"work_mem"' WHEN 'allowed' THEN '["4MB"]'
    WHEN 'query' THEN '"SELECT count(*) FROM pg_class"' WHEN 'of' THEN '"fz_base_sql"'
    WHEN 'window' THEN '"5 minutes"' WHEN 'timeout' THEN '"200 ms"' WHEN 'max_age' THEN '"1 hour"'
    WHEN 'max_lag' THEN '"1 minute"' WHEN 'schemas' THEN '["public"]' WHEN 'guard' THEN 'false'
    WHEN 'percentile' THEN '0.5' WHEN 'fail_rate' THEN 'true' WHEN 'ms' THEN '1'
    WHEN 'include_idle' THEN 'true' WHEN 'url' THEN '"http://127.0.0.1:9/"'
    WHEN 'expect' THEN '"1"' WHEN 'tool' THEN '"alembic"'
    ELSE fz_num() END::jsonb $$;

-- a document for a kind with these keys: mostly objects, some hostile text
CREATE FUNCTION fz_doc(keys text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r float8 := random(); o jsonb := '{}'; k text; d int;
BEGIN
  IF r < 0.03 THEN  -- deep nesting
    d := (random() * 3000)::int;
    RETURN '{"' || coalesce(keys[1], 'x') || '": ' || repeat('[', d) || repeat(']', d) || '}';
  ELSIF r < 0.05 THEN
    d := (random() * 500)::int;
    RETURN repeat('{"a": ', d) || '1' || repeat('}', d);
  ELSIF r < 0.08 THEN  -- NUL and other escapes: jsonb itself refuses \u0000
    RETURN '{"' || coalesce(keys[1], 'x') || '": "a\u0000b", "' || coalesce(keys[2], 'y') || '": "\ud83d\ude00\u0001"}';
  ELSIF r < 0.11 THEN
    RETURN fz_val(0)::text;  -- not an object, mostly
  END IF;
  FOREACH k IN ARRAY keys LOOP
    IF random() < 0.7 THEN
      o := o || jsonb_build_object(k, CASE WHEN random() < 0.6 THEN fz_plausible(k) ELSE fz_val(0) END);
    END IF;
  END LOOP;
  IF random() < 0.08 THEN o := o || jsonb_build_object(fz_str(), fz_val(0)); END IF;
  RETURN o::text;
END $$;

CREATE FUNCTION fz_record(i int, what text, kind text, outcome text, message text) RETURNS void
LANGUAGE sql AS $$ INSERT INTO fz_outcome VALUES (i, what, kind, outcome, left(message, 300)) $$;

-- one call; errors are caught and recorded by SQLSTATE
CREATE FUNCTION fz_one(i int, kinds text[], keys text[], has_targets bool) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r float8 := random(); kn int; kind text; kk text[]; doc text; st text; msg text;
  what text;
BEGIN
  kn := 1 + floor(random() * array_length(kinds, 1))::int;
  kind := kinds[kn];
  kk := string_to_array(keys[kn], ',');
  IF r < 0.70 THEN
    what := 'add_check';
    doc := fz_doc(kk);
    BEGIN
      IF random() < 0.85 THEN
        PERFORM slo_add_check('fz_' || i, kind, doc::jsonb);
      ELSE
        PERFORM slo_add_check(CASE WHEN random() < 0.8 THEN 'fz_' || i ELSE fz_str() END,
          CASE WHEN random() < 0.9 THEN kind ELSE fz_str() END, doc::jsonb,
          severity => fz_pick(ARRAY['P0', 'p1', 'P3', 'P4', '', 'urgent']),
          every => fz_str()::interval,
          fail_after => fz_pick(ARRAY['1', '0', '-1', '2147483647', '3'])::int,
          labels => CASE WHEN random() < 0.5 THEN fz_val(0) ELSE '{"team": "db"}' END);
      END IF;
      PERFORM fz_record(i, what, kind, 'valid', NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      PERFORM fz_record(i, what, kind, st, msg);
    END;
  ELSIF r < 0.82 THEN
    what := 'alter_check';
    doc := fz_doc(kk);
    BEGIN
      IF random() < 0.8 THEN
        PERFORM slo_alter_check('fz_base_' || kind, params => doc::jsonb);
      ELSE
        PERFORM slo_alter_check('fz_base_' || kind,
          kind => fz_pick(kinds || ARRAY['nope', '']), params => doc::jsonb,
          every => fz_str()::interval, enabled => random() < 0.9);
      END IF;
      PERFORM fz_record(i, what, kind, 'valid', NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      PERFORM fz_record(i, what, kind, st, msg);
    END;
  ELSIF r < 0.92 OR NOT has_targets THEN
    what := 'add_objective';
    BEGIN
      PERFORM slo_add_objective(
        CASE WHEN random() < 0.8 THEN 'fzo_' || i ELSE fz_str() END,
        fz_pick(ARRAY['fz_base_sql', 'fz_base_table_exists', 'fz_base_missing', 'objective:x']
                || fz_str()),
        fz_pick(ARRAY['0.99', '0', '1', '-1', 'NaN', 'Infinity', '-Infinity', '1e308', '0.5',
                      '0.999999'])::float8,
        period => CASE WHEN random() < 0.5 THEN '30 days' ELSE fz_str() END::interval,
        good_below => fz_pick(ARRAY[NULL, '100', 'NaN', '-Infinity', '1e308', '0'])::float8,
        min_events => fz_pick(ARRAY['10', '0', '-1', '2147483647', '1'])::int);
      PERFORM fz_record(i, what, NULL, 'valid', NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      PERFORM fz_record(i, what, NULL, st, msg);
    END;
  ELSE
    what := 'add_target';
    kind := fz_pick(ARRAY['webhook', 'slack', 'pagerduty', 'alertmanager', 'email', 'nope']);
    doc := fz_doc(ARRAY['headers', 'routing_key', 'from', 'to', 'repeat_every', 'digest',
                        'timeout', 'runbook']);
    BEGIN
      EXECUTE 'SELECT slo_add_target($1, $2, $3, $4, $5::jsonb)'
        USING CASE WHEN random() < 0.8 THEN 'fzt_' || i ELSE fz_str() END, kind,
          fz_pick(ARRAY['http://127.0.0.1:9/hook', 'https://127.0.0.1:9/x?token=secret',
                        'smtp://127.0.0.1:9', 'smtps://127.0.0.1:9', 'ftp://127.0.0.1/',
                        'http://user:pass@127.0.0.1:9/', 'http://[::1]:9/', 'http://',
                        'javascript:alert(1)', 'http://10.0.0.1/', 'file:///etc/passwd']
                  || fz_str()),
          fz_pick(ARRAY['P0', 'P3', 'P9', '']), doc;
      PERFORM fz_record(i, what, kind, 'valid', NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      PERFORM fz_record(i, what, kind, st, msg);
    END;
  END IF;
END $$;
SQL

# One base check per kind (for slo_alter_check), where the plausible document is valid.
$node->safe_psql('postgres', q{
DO $$
DECLARE k record; p jsonb;
BEGIN
  PERFORM slo_add_check('fz_base_sql', 'sql', '{"query": "SELECT count(*) FROM pg_class"}');
  FOR k IN SELECT kind, replace(params, '*', '') AS keys FROM slo_kinds() WHERE kind <> 'sql' LOOP
    SELECT coalesce(jsonb_object_agg(key, fz_plausible(key)), '{}') INTO p
      FROM unnest(string_to_array(replace(k.keys, ' ', ''), ',')) AS key WHERE key <> '';
    BEGIN
      PERFORM slo_add_check('fz_base_' || k.kind, k.kind, p);
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'no base check for kind %: %', k.kind, SQLERRM;
    END;
  END LOOP;
END $$;
});

my $kinds = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_kinds()');
ok($kinds >= 10, "slo_kinds() lists the kinds ($kinds)");
my $has_targets = $node->safe_psql('postgres',
	q{SELECT to_regprocedure('slo_add_target(text,text,text,text,jsonb)') IS NOT NULL});
$has_targets = $has_targets eq 't' ? 'true' : 'false';
diag "target params fuzzed too: " . ($has_targets eq 'true' ? 'yes' : 'no (slo_add_target does not exist)');

# In chunks of 1,000, each in one psql call: a crash ends that call with an error.
my $t0 = time();
my $chunk = 1000;
for (my $from = 1; $from <= $n; $from += $chunk)
{
	my $to = $from + $chunk - 1;
	$to = $n if $to > $n;
	my ($rc, $out, $err) = $node->psql('postgres', qq{
SELECT setseed(@{[ pgseed($from) ]});
DO \$\$
DECLARE kinds text[]; keys text[];
BEGIN
  SELECT array_agg(kind ORDER BY kind), array_agg(replace(replace(params, '*', ''), ' ', '') ORDER BY kind)
    INTO kinds, keys FROM slo_kinds() WHERE kind <> 'test_async';  -- test builds only
  FOR i IN $from..$to LOOP
    PERFORM fz_one(i, kinds, keys, ${has_targets});
  END LOOP;
END \$\$;
});
	if ($rc != 0)
	{
		fail("documents $from..$to: the session ended with an error: $err");
		last;
	}
}
my $elapsed = time() - $t0;

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up and a new session works');
my $done = $node->safe_psql('postgres', 'SELECT count(*) FROM fz_outcome');
is($done, $n, "all $n documents were tried (${elapsed}s)");

my $counts = $node->safe_psql('postgres', q{
SELECT what || ' ' || outcome || ' ' || count(*) FROM fz_outcome GROUP BY what, outcome ORDER BY what, count(*) DESC});
diag "outcomes (call, SQLSTATE or valid, count):\n$counts";

my $xx = $node->safe_psql('postgres', q{
SELECT string_agg(what || ' ' || coalesce(kind, '') || ': ' || message, E'\n')
  FROM (SELECT * FROM fz_outcome WHERE outcome IN ('XX000', 'XX001', 'XX002') LIMIT 20) x});
is($xx, '', 'no call ended in an internal error (XX000)');
my $valid = $node->safe_psql('postgres',
	q{SELECT count(*) FROM fz_outcome WHERE outcome = 'valid' AND what = 'add_check'});
ok($valid > 100, "a share of the documents were valid checks ($valid)");
my $clean = $node->safe_psql('postgres', q{
SELECT count(*) FROM fz_outcome WHERE outcome <> 'valid' AND outcome !~ '^(22|42|23|0A|55|2F|54)'});
is($clean, '0', 'every refusal is a data, syntax/privilege or state error');

# Every valid check runs and gives a result row.
my $norun = $node->safe_psql('postgres', q{
CREATE TEMP TABLE ran AS SELECT check_name, status FROM slo_run_checks(false);
SELECT string_agg(c.name, ', ') FROM slo_check c
 WHERE c.enabled AND NOT EXISTS (SELECT FROM ran WHERE ran.check_name = c.name)});
is($norun, '', 'every valid check ran and returned a result');
my $statuses = $node->safe_psql('postgres', q{
SELECT string_agg(status || ' ' || n, ', ') FROM (
  SELECT r.status, count(*) AS n FROM slo_result r JOIN slo_check c ON c.id = r.check_id
   GROUP BY 1 ORDER BY 1) s});
diag "results of the valid checks: $statuses";

# The worker served them too, and is still there; nothing crashed.
ok( $node->poll_query_until('postgres',
		"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'the worker is running');
ok(!$node->log_contains(qr/terminated by signal|TRAP:|PANIC/), 'no crash, assertion or PANIC in the log');
# The log is not flooded by echoed input (messages are cut).
my $log = slurp_file($node->logfile);
my ($longest) = sort { $b <=> $a } map { length } grep { /^\S.*(ERROR|DETAIL|HINT):/ } split /\n/, $log;
$longest //= 0;
ok($longest < 2000, "no ERROR/DETAIL/HINT log line is longer than 2,000 characters ($longest)");

$node->stop;
done_testing();
