/*-------------------------------------------------------------------------
 * slow_queries.c
 *	  Check kind "slow_queries": does pg_stat_statements show a statement,
 *	  called at least min_calls times, whose mean execution time is over
 *	  max_mean_ms?
 *
 *	  pg_stat_statements is found through pg_extension, in whatever schema it
 *	  was created.  When it is not created in the check's database the check
 *	  cannot run: an `error` result that says how to install it.  It is read
 *	  through pg_stat_statements(showtext => false), so the query texts are
 *	  not even loaded: results name statements by queryid (with their
 *	  database, calls and mean time), never by text, which holds constants.
 *	  Statements of every database are considered: pg_stat_statements is
 *	  cluster-wide, and the application's database is often not the one
 *	  slo_guard lives in.
 *
 *	  Needs pg_read_all_stats: pg_stat_statements hides other roles'
 *	  queryids.  value: the worst mean time in ms among the statements with
 *	  enough calls (0 when there is none).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/json.h"

#include "extension.h"
#include "kind.h"

#define KIND_NAME "slow_queries"
#define MAX_MEAN_MS_DEFAULT 500
#define MIN_CALLS_DEFAULT 10
/* How many statements the detail lists. */
#define MAX_LISTED 5

static const SloParam params[] = {
	{"max_mean_ms", SLO_PARAM_NUMBER, false, 0, DBL_MAX},
	{"min_calls", SLO_PARAM_INTEGER, false, 1, DBL_MAX},
	SLO_PARAM_END
};

/* Schema of pg_stat_statements, quoted, or NULL if it is not created here. */
static char *
StatStatementsSchema(void)
{
	int			ret = SPI_execute("SELECT pg_catalog.quote_ident(n.nspname)"
								  "  FROM pg_catalog.pg_extension e"
								  "  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
								  " WHERE e.extname = 'pg_stat_statements'", true, 1);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up pg_stat_statements: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

static void
slow_queries_run(const SloCheck *check, SloOutcome *out)
{
	double		max_mean = MAX_MEAN_MS_DEFAULT,
				min_calls = MIN_CALLS_DEFAULT,
				worst = 0;
	int64		nover = 0;
	char	   *schema;
	char	   *sql;
	Oid			types[2] = {FLOAT8OID, FLOAT8OID};
	Datum		values[2];
	StringInfoData detail;
	int			nest;
	int			ret;

	SloRunParams(check);
	(void) SloParamNumber(check->params, "max_mean_ms", &max_mean);
	(void) SloParamNumber(check->params, "min_calls", &min_calls);

	nest = SloPushSearchPath("pg_catalog, pg_temp");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	schema = StatStatementsSchema();
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_stat_statements\" is not installed in database \"%s\", so slow queries cannot be watched",
						get_database_name(MyDatabaseId)),
				 errhint("Add pg_stat_statements to shared_preload_libraries, restart the server, and run CREATE EXTENSION pg_stat_statements in this database.")));

	/*
	 * The worst statements with enough calls, and how many of them are over
	 * the limit (the window count runs before LIMIT).
	 */
	sql = psprintf("SELECT s.queryid, s.calls::float8, s.mean_exec_time, d.datname::text,"
				   "       count(*) FILTER (WHERE s.mean_exec_time > $2) OVER ()"
				   "  FROM %s.pg_stat_statements(false) s"
				   "  LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid"
				   " WHERE s.calls >= $1 AND s.queryid IS NOT NULL"
				   " ORDER BY s.mean_exec_time DESC, s.queryid"
				   " LIMIT " CppAsString2(MAX_LISTED), schema);
	values[0] = Float8GetDatum(min_calls);
	values[1] = Float8GetDatum(max_mean);
	ret = SPI_execute_with_args(sql, 2, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "slow_queries query failed: %s", SPI_result_code_string(ret));

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"max_mean_ms\": %s, \"min_calls\": %.0f, \"over\": ",
					 float8out_internal(max_mean), min_calls);
	if (SPI_processed > 0)
	{
		bool		isnull;

		worst = SloColFloat(0, 3, NULL);
		nover = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5,
											&isnull));
	}
	appendStringInfo(&detail, INT64_FORMAT ", \"worst\": [", nover);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *db = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);

		appendStringInfo(&detail, "%s{\"queryid\": %s, \"calls\": %.0f, \"mean_exec_time_ms\": %.3f, \"database\": ",
						 i ? ", " : "",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						 SloColFloat(i, 2, NULL), SloColFloat(i, 3, NULL));
		if (db)
			escape_json(&detail, db);
		else
			appendStringInfoString(&detail, "null");
		appendStringInfoString(&detail, "}");
	}
	appendStringInfoString(&detail, "]}");
	SloOutcomeDetail(out, detail.data);

	if (nover > 0)
	{
		char	   *db = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

		SloOutcomeSet(out, SLO_FAIL, true, worst,
					  "Statement with queryid %s%s averages %.0f ms over %.0f calls, above the %s ms limit%s.",
					  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
					  db ? psprintf(" in database %s", quote_identifier(db)) : "",
					  worst, SloColFloat(0, 2, NULL), float8out_internal(max_mean),
					  nover > 1 ? psprintf("; " INT64_FORMAT " more statement%s %s over it",
										   nover - 1, nover > 2 ? "s" : "",
										   nover > 2 ? "are" : "is") : "");
	}
	else if (SPI_processed == 0)
		SloOutcomeSet(out, SLO_OK, true, 0,
					  "No statement has been called %.0f times yet, so none is judged slow.",
					  min_calls);
	else
		SloOutcomeSet(out, SLO_OK, true, worst,
					  "No statement with at least %.0f calls averages over %s ms; the slowest averages %s ms.",
					  min_calls, float8out_internal(max_mean),
					  worst < 10 ? psprintf("%.1f", worst) : psprintf("%.0f", worst));

	SPI_finish();
	AtEOXact_GUC(true, nest);
}

const SloKind SloKindSlowQueries = {
	.name = KIND_NAME,
	.description = "fails when pg_stat_statements shows a statement with at least min_calls (10) calls whose mean time exceeds max_mean_ms (500); names queryids, never query text; value = worst mean ms",
	.params = params,
	.validate = NULL,
	.run = slow_queries_run,
	.needs_stats = true,
};
