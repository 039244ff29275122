/*-------------------------------------------------------------------------
 * health.c
 *	  Check kinds that watch the server's own health: connections,
 *	  wraparound, long_transactions and rls_disabled.
 *
 *	  They read the statistics and catalog views through SPI, read-only, with
 *	  search_path = pg_catalog, pg_temp (nothing on the check's own
 *	  search_path can capture their queries), as the check's owner (the run
 *	  loop has switched roles).  Kinds that look at other sessions
 *	  (connections, long_transactions, and replication_lag and slow_queries
 *	  in their own files) need the privileges of pg_read_all_stats, which
 *	  PostgreSQL asks of anyone who wants to see other roles' sessions: without
 *	  them the views hide exactly what the check looks for, so the check
 *	  refuses to run (an `error` result) rather than report a false "ok".
 *
 *	  Results never hold query text or row content: session metadata
 *	  (pid, state, application_name, database), counts, ages and names of
 *	  tables and databases only.
 *
 *	  Thresholds compare with >=: "warn_pct 80" warns when 80 % or more is
 *	  used.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "extension.h"
#include "kind.h"

/* The XID (and multixact ID) space before wraparound: 2^31. */
#define WRAPAROUND_LIMIT 2147483648.0

/* How many offenders a summary or detail names at most. */
#define MAX_NAMED 5

/* ---- helpers shared by the health kinds (declared in kind.h) ---- */

void
SloRequireStatsPrivilege(const char *kind)
{
	Oid			role = GetUserId();

	if (!has_privs_of_role(role, ROLE_PG_READ_ALL_STATS))
	{
		char	   *name = GetUserNameFromId(role, false);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" that owns this check lacks the privileges of pg_read_all_stats, which check kind \"%s\" needs to see other roles' sessions",
						name, kind),
				 errhint("Run GRANT pg_monitor TO %s; (or pg_read_all_stats).",
						 quote_identifier(name))));
	}
}

char *
SloFormatDuration(double s)
{
	int64		t;

	if (s < 0)
		s = 0;
	if (s < 10 && s != floor(s))
		return psprintf("%.1f s", s);
	t = (int64) llround(s);
	if (t < 60)
		return psprintf("%d s", (int) t);
	if (t < 3600)
		return t % 60 ? psprintf("%d min %d s", (int) (t / 60), (int) (t % 60))
			: psprintf("%d min", (int) (t / 60));
	if (t < 86400)
		return (t % 3600) / 60 ? psprintf("%d h %d min", (int) (t / 3600), (int) ((t % 3600) / 60))
			: psprintf("%d h", (int) (t / 3600));
	return (t % 86400) / 3600 ?
		psprintf(INT64_FORMAT " d %d h", t / 86400, (int) ((t % 86400) / 3600))
		: psprintf(INT64_FORMAT " d", t / 86400);
}

/* ---- local helpers ---- */

/* Shortest exact text of a number (thresholds as the user wrote them). */
static char *
Num(double d)
{
	return float8out_internal(d);
}

/* A percentage for a summary: one decimal, more for tiny shares. */
static char *
Pct(double p)
{
	if (p == 0 || p >= 1)
		return psprintf("%.1f%%", p);
	if (p >= 0.01)
		return psprintf("%.2f%%", p);
	return pstrdup("under 0.01%");
}

/* A large count in words: "1.2 billion", "265.3 million", "7812". */
static char *
Count(double n)
{
	if (n >= 1e9)
		return psprintf("%.2f billion", n / 1e9);
	if (n >= 1e6)
		return psprintf("%.1f million", n / 1e6);
	return psprintf("%.0f", n);
}

/* Connect to SPI with a search_path nothing user-defined can capture. */
static int
HealthConnect(void)
{
	int			nest = SloPushSearchPath("pg_catalog, pg_temp");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return nest;
}

static void
HealthFinish(int nest)
{
	SPI_finish();
	AtEOXact_GUC(true, nest);
}

/* Run one of our read-only queries through a plan kept for the backend. */
static void
HealthQuery(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types, Datum *values)
{
	SloKeptQuery(plan, sql, nargs, types, values);
}

/* Shared validation of a warn_pct/fail_pct pair with their defaults. */
static void
ValidatePctPair(const char *kind, Jsonb *p, double dwarn, double dfail)
{
	double		warn = dwarn,
				fail = dfail;
	bool		has_warn = SloParamNumber(p, "warn_pct", &warn);
	bool		has_fail = SloParamNumber(p, "fail_pct", &fail);

	if (warn > fail)
		SloParamError(kind, has_warn ? "warn_pct" : "fail_pct", Num(has_warn ? warn : fail),
					  psprintf("warn_pct (%s%s) must not be greater than fail_pct (%s%s).",
							   Num(warn), has_warn ? "" : ", the default",
							   Num(fail), has_fail ? "" : ", the default"));
}

/* Status for a share against warn/fail thresholds, with the threshold crossed. */
static SloStatus
JudgePct(double pct, double warn, double fail, double *threshold)
{
	if (pct >= fail)
	{
		*threshold = fail;
		return SLO_FAIL;
	}
	if (pct >= warn)
	{
		*threshold = warn;
		return SLO_WARN;
	}
	*threshold = warn;
	return SLO_OK;
}

/* ---- connections ---- */

#define CONN_WARN_DEFAULT 80
#define CONN_FAIL_DEFAULT 95

static const SloParam connections_params[] = {
	{"warn_pct", SLO_PARAM_NUMBER, false, 0, 100},
	{"fail_pct", SLO_PARAM_NUMBER, false, 0, 100},
	SLO_PARAM_END
};

static void
connections_validate(Jsonb *p)
{
	ValidatePctPair("connections", p, CONN_WARN_DEFAULT, CONN_FAIL_DEFAULT);
}

/*
 * Client backends only: they are what max_connections limits (background
 * workers and WAL senders have their own pools).  The checking session
 * counts too: it holds a slot.  One pass over pg_stat_activity gives the
 * counts by state and the five applications holding the most sessions.
 */
static const char *connections_sql =
"WITH b AS MATERIALIZED ("
"  SELECT coalesce(state, 'unknown') AS state, coalesce(application_name, '') AS app"
"    FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend') "
"(SELECT 's' AS what, state AS name, count(*) AS n FROM b GROUP BY state ORDER BY 3 DESC, 2) "
"UNION ALL "
"(SELECT 'a', app, count(*) FROM b GROUP BY app ORDER BY 3 DESC, 2 LIMIT " CppAsString2(MAX_NAMED) ")";
static SPIPlanPtr connections_plan = NULL;

static void
connections_run(const SloCheck *check, SloOutcome *out)
{
	double		warn = CONN_WARN_DEFAULT,
				fail = CONN_FAIL_DEFAULT,
				threshold,
				pct;
	int			reserved,
				usable;
	int64		used = 0;
	const char *top_app = NULL;
	int64		top_n = 0;
	StringInfoData states,
				apps,
				detail;
	SloStatus	status;
	int			nest;

	SloRunParams(check);
	(void) SloParamNumber(check->params, "warn_pct", &warn);
	(void) SloParamNumber(check->params, "fail_pct", &fail);

#if PG_VERSION_NUM >= 160000
	reserved = SuperuserReservedConnections + ReservedConnections;
#else
	reserved = ReservedBackends;
#endif
	usable = Max(MaxConnections - reserved, 1);

	nest = HealthConnect();
	HealthQuery(&connections_plan, connections_sql, 0, NULL, NULL);

	initStringInfo(&states);
	initStringInfo(&apps);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *what = SloColText(i, 1);
		char	   *name = SloColText(i, 2);
		int64		n = SloColInt8(i, 3);

		if (what[0] == 's')
		{
			used += n;
			appendStringInfoString(&states, states.len ? ", " : "");
			escape_json(&states, name);
			appendStringInfo(&states, ": " INT64_FORMAT, n);
		}
		else
		{
			if (top_app == NULL)
			{
				top_app = name;
				top_n = n;
			}
			appendStringInfoString(&apps, apps.len ? ", " : "");
			appendStringInfoString(&apps, "{\"application_name\": ");
			escape_json(&apps, name);
			appendStringInfo(&apps, ", \"sessions\": " INT64_FORMAT "}", n);
		}
	}

	pct = 100.0 * (double) used / usable;
	status = JudgePct(pct, warn, fail, &threshold);

	initStringInfo(&detail);
	appendStringInfo(&detail,
					 "{\"counted\": \"client backends\", \"used\": " INT64_FORMAT
					 ", \"usable\": %d, \"max_connections\": %d, \"reserved\": %d"
					 ", \"percent\": %s, \"by_state\": {%s}, \"top_applications\": [%s]}",
					 used, usable, MaxConnections, reserved, Num(pct), states.data, apps.data);
	SloOutcomeDetail(out, detail.data);

	if (status == SLO_OK)
		SloOutcomeSet(out, SLO_OK, true, pct,
					  INT64_FORMAT " of %d usable connections are in use (%s); warn at %s%%.",
					  used, usable, Pct(pct), Num(warn));
	else
	{
		const char *holder = top_app == NULL ? "" :
			top_app[0] == '\0' ?
			psprintf("; sessions without an application_name hold " INT64_FORMAT " of them", top_n) :
			psprintf("; application %s holds " INT64_FORMAT " of them", top_app, top_n);

		SloOutcomeSet(out, status, true, pct,
					  INT64_FORMAT " of %d usable connections are in use (%s), at or above the %s threshold of %s%%%s.",
					  used, usable, Pct(pct), status == SLO_FAIL ? "fail" : "warn",
					  Num(threshold), holder);
	}
	HealthFinish(nest);
}

const SloKind SloKindConnections = {
	.name = "connections",
	.description = "share of usable connections (max_connections minus the reserved ones) held by client sessions; warn/fail at warn_pct (80)/fail_pct (95); value = percent used",
	.params = connections_params,
	.validate = connections_validate,
	.run = connections_run,
	.needs_stats = true,
};

/* ---- wraparound ---- */

#define WRAP_WARN_DEFAULT 50
#define WRAP_FAIL_DEFAULT 80

static const SloParam wraparound_params[] = {
	{"warn_pct", SLO_PARAM_NUMBER, false, 0, 100},
	{"fail_pct", SLO_PARAM_NUMBER, false, 0, 100},
	SLO_PARAM_END
};

static void
wraparound_validate(Jsonb *p)
{
	ValidatePctPair("wraparound", p, WRAP_WARN_DEFAULT, WRAP_FAIL_DEFAULT);
}

/* Every database (template0 included: it wraps around too), oldest first. */
static const char *wraparound_sql =
"SELECT datname::text, pg_catalog.age(datfrozenxid)::float8 AS xid_age,"
"       pg_catalog.mxid_age(datminmxid)::float8 AS mxid_age"
"  FROM pg_catalog.pg_database"
" ORDER BY greatest(pg_catalog.age(datfrozenxid), pg_catalog.mxid_age(datminmxid)) DESC, 1";
static SPIPlanPtr wraparound_plan = NULL;

static void
wraparound_run(const SloCheck *check, SloOutcome *out)
{
	double		warn = WRAP_WARN_DEFAULT,
				fail = WRAP_FAIL_DEFAULT,
				threshold,
				xid_age = -1,
				mxid_age = -1,
				pct;
	char	   *xid_db = NULL,
			   *mxid_db = NULL;
	bool		multi;
	const char *db;
	double		age;
	StringInfoData detail;
	SloStatus	status;
	int			nest;

	SloRunParams(check);
	(void) SloParamNumber(check->params, "warn_pct", &warn);
	(void) SloParamNumber(check->params, "fail_pct", &fail);

	nest = HealthConnect();
	HealthQuery(&wraparound_plan, wraparound_sql, 0, NULL, NULL);

	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"limit\": 2147483648, \"databases\": [");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SloColText(i, 1);
		double		x = SloColFloat(i, 2, NULL);
		double		m = SloColFloat(i, 3, NULL);

		if (x > xid_age)
		{
			xid_age = x;
			xid_db = name;
		}
		if (m > mxid_age)
		{
			mxid_age = m;
			mxid_db = name;
		}
		if (i < MAX_NAMED)
		{
			appendStringInfoString(&detail, i ? ", {\"database\": " : "{\"database\": ");
			escape_json(&detail, name);
			appendStringInfo(&detail, ", \"xid_age\": %.0f, \"mxid_age\": %.0f}", x, m);
		}
	}
	if (xid_db == NULL)			/* cannot happen: we are connected to one */
		elog(ERROR, "pg_database is empty");

	/* the worse of the two ID spaces decides */
	multi = mxid_age > xid_age;
	db = multi ? mxid_db : xid_db;
	age = multi ? mxid_age : xid_age;
	pct = 100.0 * age / WRAPAROUND_LIMIT;
	status = JudgePct(pct, warn, fail, &threshold);

	appendStringInfo(&detail, "], \"oldest_xid\": {\"database\": ");
	escape_json(&detail, xid_db);
	appendStringInfo(&detail, ", \"age\": %.0f, \"percent\": %s}, \"oldest_multixact\": {\"database\": ",
					 xid_age, Num(100.0 * xid_age / WRAPAROUND_LIMIT));
	escape_json(&detail, mxid_db);
	appendStringInfo(&detail, ", \"age\": %.0f, \"percent\": %s}}",
					 mxid_age, Num(100.0 * mxid_age / WRAPAROUND_LIMIT));
	SloOutcomeDetail(out, detail.data);

	if (status == SLO_OK)
		SloOutcomeSet(out, SLO_OK, true, pct,
					  "Database %s is the closest to %s ID wraparound, at %s of the limit (%s IDs old); warn at %s%%.",
					  quote_identifier(db), multi ? "multixact" : "transaction", Pct(pct),
					  Count(age), Num(warn));
	else
		SloOutcomeSet(out, status, true, pct,
					  "Database %s has used %s of the %s ID space before wraparound (%s IDs old), at or above the %s threshold of %s%%: VACUUM (FREEZE) its oldest tables.",
					  quote_identifier(db), Pct(pct), multi ? "multixact" : "transaction",
					  Count(age), status == SLO_FAIL ? "fail" : "warn", Num(threshold));
	HealthFinish(nest);
}

const SloKind SloKindWraparound = {
	.name = "wraparound",
	.description = "oldest unfrozen transaction (or multixact) ID of any database as a share of the 2^31 wraparound limit; warn/fail at warn_pct (50)/fail_pct (80); value = percent",
	.params = wraparound_params,
	.validate = wraparound_validate,
	.run = wraparound_run,
};

/* ---- long_transactions ---- */

#define LONG_MAX_AGE_DEFAULT_MS (5 * 60 * 1000)

static const SloParam long_transactions_params[] = {
	{"max_age", SLO_PARAM_INTERVAL, false, SLO_INTERVAL_SECOND_TO_YEAR},
	{"include_idle", SLO_PARAM_BOOL, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

/*
 * Open transactions of client sessions and prepared transactions, oldest
 * first, with their count over max_age ($2) and the oldest age of all.
 * Left out: the checking session itself, every process that is not a client
 * backend (slo_guard's launcher and workers, whose backend_type is "slo_guard
 * launcher" / "slo_guard"; never judged by application_name, which any client
 * may set to "slo_guard"), and with include_idle ($1) off, sessions idle in a
 * transaction.  Ages are taken against clock_timestamp():
 * a worker pass is one long transaction, and now() would be its start.
 */
static const char *long_transactions_sql =
"WITH t AS MATERIALIZED ("
"  SELECT 'session' AS what, a.pid, coalesce(a.state, 'unknown') AS state,"
"         coalesce(a.application_name, '') AS name, a.datname::text AS db,"
"         extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start)::float8 AS age"
"    FROM pg_catalog.pg_stat_activity a"
"   WHERE a.backend_type = 'client backend' AND a.xact_start IS NOT NULL"
"     AND a.pid <> pg_catalog.pg_backend_pid()"
"     AND ($1 OR a.state IS NULL OR"
"          a.state NOT IN ('idle in transaction', 'idle in transaction (aborted)'))"
"  UNION ALL"
"  SELECT 'prepared', NULL, 'prepared', p.gid, p.database::text,"
"         extract(epoch FROM pg_catalog.clock_timestamp() - p.prepared)::float8"
"    FROM pg_catalog.pg_prepared_xacts p) "
"SELECT what, pid, state, name, db, age,"
"       (SELECT count(*) FROM t WHERE age > $2) AS n_over"
"  FROM t ORDER BY age DESC LIMIT " CppAsString2(MAX_NAMED);
static SPIPlanPtr long_transactions_plan = NULL;

static void
long_transactions_run(const SloCheck *check, SloOutcome *out)
{
	int64		max_ms = LONG_MAX_AGE_DEFAULT_MS;
	bool		include_idle;
	double		max_s,
				oldest = 0;
	int64		n_over = 0;
	Oid			types[2] = {BOOLOID, FLOAT8OID};
	Datum		values[2];
	StringInfoData detail;
	int			nest;

	SloRunParams(check);
	include_idle = SloParamBool(check->params, "include_idle", true);
	(void) SloParamIntervalMs(check->params, "max_age", &max_ms);
	max_s = max_ms / 1000.0;

	nest = HealthConnect();
	values[0] = BoolGetDatum(include_idle);
	values[1] = Float8GetDatum(max_s);
	HealthQuery(&long_transactions_plan, long_transactions_sql, 2, types, values);

	if (SPI_processed > 0)
	{
		oldest = SloColFloat(0, 6, NULL);
		n_over = SloColInt8(0, 7);
	}

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"max_age_s\": %s, \"include_idle\": %s, \"over\": " INT64_FORMAT
					 ", \"oldest\": [", Num(max_s), include_idle ? "true" : "false", n_over);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		prepared = strcmp(SloColText(i, 1), "prepared") == 0;

		if (SloColFloat(i, 6, NULL) <= max_s)
			break;
		appendStringInfoString(&detail, i ? ", {" : "{");
		if (prepared)
		{
			appendStringInfoString(&detail, "\"prepared\": true, \"gid\": ");
			escape_json(&detail, SloColText(i, 4));
		}
		else
		{
			appendStringInfo(&detail, "\"pid\": %s, \"state\": ", SloColText(i, 2));
			escape_json(&detail, SloColText(i, 3));
			appendStringInfoString(&detail, ", \"application_name\": ");
			escape_json(&detail, SloColText(i, 4));
		}
		appendStringInfoString(&detail, ", \"database\": ");
		if (SloColText(i, 5))
			escape_json(&detail, SloColText(i, 5));
		else
			appendStringInfoString(&detail, "null");
		appendStringInfo(&detail, ", \"age_s\": %.3f}", SloColFloat(i, 6, NULL));
	}
	appendStringInfoString(&detail, "]}");
	SloOutcomeDetail(out, detail.data);

	if (n_over == 0)
	{
		if (SPI_processed == 0)
			SloOutcomeSet(out, SLO_OK, true, 0,
						  "No other transaction is open (limit %s).", SloFormatDuration(max_s));
		else
			SloOutcomeSet(out, SLO_OK, true, oldest,
						  "No transaction has been open longer than %s; the oldest is %s old.",
						  SloFormatDuration(max_s), SloFormatDuration(oldest));
	}
	else
	{
		const char *more = n_over > 1 ?
			psprintf("; " INT64_FORMAT " more %s over the limit", n_over - 1,
					 n_over == 2 ? "is" : "are") : "";

		if (strcmp(SloColText(0, 1), "prepared") == 0)
			SloOutcomeSet(out, SLO_FAIL, true, oldest,
						  "Prepared transaction %s in database %s has been open for %s, longer than the %s allowed (COMMIT PREPARED or ROLLBACK PREPARED it)%s.",
						  quote_literal_cstr(SloColText(0, 4)),
						  SloColText(0, 5) ? quote_identifier(SloColText(0, 5)) : "?",
						  SloFormatDuration(oldest), SloFormatDuration(max_s), more);
		else
		{
			char	   *app = SloColText(0, 4);

			SloOutcomeSet(out, SLO_FAIL, true, oldest,
						  "Session pid %s (%s, %s) has had a transaction open for %s, longer than the %s allowed%s.",
						  SloColText(0, 2),
						  app[0] ? psprintf("application %s", app) : "no application_name",
						  SloColText(0, 3), SloFormatDuration(oldest),
						  SloFormatDuration(max_s), more);
		}
	}
	HealthFinish(nest);
}

const SloKind SloKindLongTransactions = {
	.name = "long_transactions",
	.description = "fails when a client session's transaction (idle in transaction included unless include_idle is false) or a prepared transaction is older than max_age (5 minutes); value = oldest age in seconds",
	.params = long_transactions_params,
	.validate = NULL,
	.run = long_transactions_run,
	.needs_stats = true,
};

/* ---- rls_disabled ---- */

static const SloParam rls_disabled_params[] = {
	{"schemas", SLO_PARAM_NAME_ARRAY, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

/*
 * Tables and partitioned tables (partitions included: reading one directly
 * bypasses its parent's policies) without row level security.  Tables that
 * belong to an extension are left out (slo_guard's own, PostGIS's
 * spatial_ref_sys): their owner is the extension script, not the app, and
 * they are counted in the detail.  Schemas are matched by their stored name.
 */
static const char *rls_disabled_sql =
"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
"       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
"                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                  AND d.objid = c.oid AND d.deptype = 'e') AS ext"
"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
" WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND n.nspname = ANY ($1)"
" ORDER BY 2, 1";
static SPIPlanPtr rls_disabled_plan = NULL;

static void
rls_disabled_run(const SloCheck *check, SloOutcome *out)
{
	int			nschemas;
	char	  **schemas;
	Datum	   *elems;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	int64		nbad = 0,
				next = 0;
	StringInfoData names,
				detail,
				schemalist;
	int			nest;

	SloRunParams(check);
	schemas = SloParamStringArray(check->params, "schemas", &nschemas);
	if (schemas == NULL || nschemas == 0)
	{
		schemas = palloc(sizeof(char *));
		schemas[0] = "public";
		nschemas = 1;
	}
	elems = palloc(sizeof(Datum) * nschemas);
	initStringInfo(&schemalist);
	for (int i = 0; i < nschemas; i++)
	{
		elems[i] = CStringGetTextDatum(schemas[i]);
		appendStringInfo(&schemalist, "%s%s", i ? ", " : "", quote_identifier(schemas[i]));
	}
	values[0] = PointerGetDatum(construct_array(elems, nschemas, TEXTOID, -1, false,
												TYPALIGN_INT));

	nest = HealthConnect();
	HealthQuery(&rls_disabled_plan, rls_disabled_sql, 1, types, values);

	initStringInfo(&names);
	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"schemas\": [");
	for (int i = 0; i < nschemas; i++)
	{
		appendStringInfoString(&detail, i ? ", " : "");
		escape_json(&detail, schemas[i]);
	}
	appendStringInfoString(&detail, "], \"tables\": [");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		if (strcmp(SloColText(i, 2), "t") == 0)
		{
			next++;
			continue;
		}
		if (nbad < MAX_NAMED)
		{
			appendStringInfo(&names, "%s%s", nbad ? ", " : "", SloColText(i, 1));
			appendStringInfoString(&detail, nbad ? ", " : "");
			escape_json(&detail, SloColText(i, 1));
		}
		nbad++;
	}
	appendStringInfo(&detail, "], \"count\": " INT64_FORMAT ", \"extension_tables_skipped\": " INT64_FORMAT "}",
					 nbad, next);
	SloOutcomeDetail(out, detail.data);

	if (nbad == 0)
		SloOutcomeSet(out, SLO_OK, true, 0,
					  "Every table in %s has row level security enabled.", schemalist.data);
	else if (nbad == 1)
		SloOutcomeSet(out, SLO_FAIL, true, 1,
					  "Table %s has row level security disabled, so any role with table privileges reads all its rows.",
					  names.data);
	else
		SloOutcomeSet(out, SLO_FAIL, true, nbad,
					  INT64_FORMAT " tables in %s have row level security disabled: %s%s.",
					  nbad, schemalist.data, names.data,
					  nbad > MAX_NAMED ? psprintf(" and " INT64_FORMAT " more", nbad - MAX_NAMED) : "");
	HealthFinish(nest);
}

const SloKind SloKindRlsDisabled = {
	.name = "rls_disabled",
	.description = "fails when a table in the listed schemas (default public) has row level security disabled; tables of extensions are skipped; value = number of tables",
	.params = rls_disabled_params,
	.validate = NULL,
	.run = rls_disabled_run,
};
