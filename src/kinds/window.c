/*-------------------------------------------------------------------------
 * window.c
 *	  Check kind "window": a percentile of another check's values, or the
 *	  share of its results that failed, over a sliding time window, against
 *	  warn_above / fail_above.  The runbooks' "alert if any 5-minute window
 *	  exceeds 450 ms" is {"of": "api_latency", "window": "5 minutes",
 *	  "percentile": 0.95, "fail_above": 450}; "error rate > 20 % in recent
 *	  checks" is {"of": "health", "window": "1 hour", "fail_rate": true,
 *	  "fail_above": 0.2}.
 *
 *	  It reads slo_result of the check named by "of" (by name, at each run,
 *	  so the other check may be added later, or dropped and re-added) through
 *	  the (check_id, at) index, as the extension owner.  value = the
 *	  percentile (percentile_cont over the non-NULL values) or the share of
 *	  `fail`/`error` results, between 0 and 1.
 *
 *	  No data is not a failure: when the other check has no result (or no
 *	  value) in the window the status is `ok` with a NULL value and a summary
 *	  that says so.  The other check's own results already tell whether it
 *	  runs; a window over nothing should not page a second time.  An "of"
 *	  that names no check, or this check itself, is an `error` result: the
 *	  window is blind until that is fixed.
 *
 *	  Known limits:
 *	    - All checks of a pass write their results together at its end, so a
 *	      window sees the other check's results up to the previous pass.
 *	    - slo_guard.keep_ok_results = changes stores only results whose
 *	      status differs from the previous one: a run of ok results leaves
 *	      only its first.  A percentile then sees the values of stored
 *	      results only (the first value of each ok streak and every non-ok
 *	      one), which overweights bad values; use keep_ok_results = all where
 *	      an exact percentile matters.  A fail_rate counts the missing ok runs
 *	      back in: the denominator is the larger of the stored results and
 *	      the runs the other check should have made in the window (window,
 *	      or the time since it was added, divided by its interval).  That is
 *	      an estimate: time it was disabled or not run counts as ok.
 *	    - A window longer than slo_guard.result_retention sees only the results
 *	      still kept.  A run reads every result of the other check in the
 *	      window through the index and sorts their values: a 5-minute window
 *	      over a check run every 10 seconds reads 30 rows.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "extension.h"
#include "guc.h"
#include "kind.h"

#define KIND_NAME "window"
#define DEFAULT_PERCENTILE 0.95

static const SloParam params[] = {
	{"of", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"window", SLO_PARAM_INTERVAL, true, SLO_INTERVAL_SECOND_TO_YEAR},
	{"percentile", SLO_PARAM_NUMBER, false, 0, 1},
	{"fail_rate", SLO_PARAM_BOOL, false, SLO_NO_RANGE},
	{"warn_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"fail_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

/* A number for summaries: "470", "466.667", "5300000000". */
static char *
Num(double v)
{
	if (fabs(v) >= 1e6)
		return psprintf("%.0f", v);
	return psprintf("%.6g", v);
}

/* A share as a percentage: "25 %", "33.3 %", "0.5 %". */
static char *
Pct(double share)
{
	return psprintf("%.3g %%", share * 100.0);
}

/* "p95", "p99.9", "median", "max" */
static char *
PercentileLabel(double p)
{
	if (p == 1.0)
		return pstrdup("max");
	if (p == 0.5)
		return pstrdup("median");
	return psprintf("p%.6g", p * 100.0);
}

/* percentile in (0, 1], not with fail_rate; shares for fail_rate; warn <= fail. */
static void
window_validate(Jsonb *p)
{
	double		pct,
				warn,
				fail;
	bool		has_pct = SloParamNumber(p, "percentile", &pct);
	bool		fail_rate = SloParamBool(p, "fail_rate", false);
	bool		has_warn = SloParamNumber(p, "warn_above", &warn);
	bool		has_fail = SloParamNumber(p, "fail_above", &fail);

	if (has_pct && pct <= 0)
		SloParamError(KIND_NAME, "percentile", SloParamText(p, "percentile"),
					  "The value must be greater than 0 and at most 1 (0.95 for p95).");
	if (has_pct && fail_rate)
		SloParamError(KIND_NAME, "percentile", SloParamText(p, "percentile"),
					  "percentile and \"fail_rate\": true exclude each other: a window check computes either a percentile of the values or the share of failed results.");
	if (fail_rate)
	{
		if (has_warn && (warn < 0 || warn > 1))
			SloParamError(KIND_NAME, "warn_above", SloParamText(p, "warn_above"),
						  "With fail_rate the thresholds are shares between 0 and 1 (0.2 for 20 %).");
		if (has_fail && (fail < 0 || fail > 1))
			SloParamError(KIND_NAME, "fail_above", SloParamText(p, "fail_above"),
						  "With fail_rate the thresholds are shares between 0 and 1 (0.2 for 20 %).");
	}
	if (has_warn && has_fail && warn > fail)
		SloParamError(KIND_NAME, "warn_above", SloParamText(p, "warn_above"),
					  psprintf("warn_above (%s) must not be greater than fail_above (%s).",
							   Num(warn), Num(fail)));
}

/* What the window found in the other check's history. */
typedef struct WindowData
{
	bool		found;			/* "of" names a check */
	int64		of_id;
	char	   *of_kind;
	bool		of_enabled;
	int64		results;		/* stored results in the window */
	int64		values;			/* of which with a value */
	int64		failed;			/* of which fail or error */
	bool		has_percentile;
	double		percentile;
	double		expected_runs;	/* runs the other check should have made */
} WindowData;

/* Read the other check and its results in the window, as the extension owner. */
static void
ReadWindow(const SloCheck *check, const char *of, const char *window, double pct,
		   TimestampTz now, WindowData *wd)
{
	SloBookkeeping bk;
	const char *nsp = check->ext->nspname;
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID};
	Datum		args[4];
	char	   *sql;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	MemoryContext callercxt = CurrentMemoryContext;

	memset(wd, 0, sizeof(*wd));
	SloEnterBookkeeping(check->ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	args[0] = CStringGetTextDatum(of);
	args[1] = TimestampTzGetDatum(now);
	args[2] = CStringGetTextDatum(window);
	args[3] = Float8GetDatum(pct);
	sql = psprintf("SELECT c.id, c.kind, c.enabled,"
				   "       extract(epoch FROM $2 - greatest($2 - $3::interval, c.created_at))::float8"
				   "         / nullif(extract(epoch FROM c.every)::float8, 0),"
				   "       r.n, r.nv, r.nf, r.p"
				   "  FROM %s.slo_check c,"
				   "       LATERAL (SELECT count(*) AS n, count(value) AS nv,"
				   "                       count(*) FILTER (WHERE status IN ('fail', 'error')) AS nf,"
				   "                       percentile_cont($4) WITHIN GROUP (ORDER BY value) AS p"
				   "                  FROM %s.slo_result"
				   "                 WHERE check_id = c.id AND at > $2 - $3::interval AND at <= $2) r"
				   " WHERE c.name = $1", nsp, nsp);
	if (SPI_execute_with_args(sql, 4, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the results of the check named by a window check");
	if (SPI_processed == 1)
	{
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		wd->found = true;
		wd->of_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		wd->of_kind = MemoryContextStrdup(callercxt, SPI_getvalue(tup, desc, 2));
		wd->of_enabled = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		wd->expected_runs = isnull ? 0 : Max(floor(DatumGetFloat8(d)), 0);
		wd->results = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		wd->values = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		wd->failed = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		d = SPI_getbinval(tup, desc, 8, &isnull);
		wd->has_percentile = !isnull;
		wd->percentile = isnull ? 0 : DatumGetFloat8(d);
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
}

static void
window_run(const SloCheck *check, SloOutcome *out)
{
	const char *of;
	const char *window;
	bool		fail_rate;
	double		pct = DEFAULT_PERCENTILE,
				warn = 0,
				fail = 0,
				v;
	bool		has_warn,
				has_fail;
	bool		estimated = false;
	double		runs;
	WindowData	wd;
	const char *unit = "";
	const char *what;
	SloStatus	status = SLO_OK;
	const char *verdict = "";
	StringInfoData detail;

	SloRunParams(check);
	of = SloRunString(check, "of");
	window = SloRunString(check, "window");
	fail_rate = SloParamBool(check->params, "fail_rate", false);
	has_warn = SloParamNumber(check->params, "warn_above", &warn);
	has_fail = SloParamNumber(check->params, "fail_above", &fail);
	(void) SloParamNumber(check->params, "percentile", &pct);
	ReadWindow(check, of, window, pct, GetCurrentTimestamp(), &wd);

	if (!wd.found)
	{
		SloOutcomeSet(out, SLO_ERROR, false, 0,
					  "Check %s, read by this window check, does not exist.", of);
		return;
	}
	if (wd.of_id == check->id)
	{
		SloOutcomeSet(out, SLO_ERROR, false, 0,
					  "A window check cannot read its own results (of = %s).", of);
		return;
	}

	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"of\": ");
	escape_json(&detail, of);
	appendStringInfo(&detail, ", \"of_check_id\": " INT64_FORMAT ", \"window\": ", wd.of_id);
	escape_json(&detail, window);
	appendStringInfo(&detail, ", \"results\": " INT64_FORMAT ", \"values\": " INT64_FORMAT
					 ", \"failed\": " INT64_FORMAT ", \"keep_ok_results\": \"%s\"",
					 wd.results, wd.values, wd.failed,
					 slo_keep_ok_results == SLO_KEEP_OK_CHANGES ? "changes" : "all");

	if (fail_rate)
	{
		runs = (double) wd.results;
		if (slo_keep_ok_results == SLO_KEEP_OK_CHANGES && wd.expected_runs > runs)
		{
			runs = wd.expected_runs;
			estimated = true;
		}
		appendStringInfo(&detail, ", \"fail_rate\": true, \"runs\": %.0f, \"runs_estimated\": %s}",
						 runs, estimated ? "true" : "false");
		SloOutcomeDetail(out, detail.data);
		if (runs <= 0)
		{
			SloOutcomeSet(out, SLO_OK, false, 0,
						  "No results of %s in the last %s%s; nothing to judge.", of, window,
						  wd.of_enabled ? "" : " (it is disabled)");
			return;
		}
		v = (double) wd.failed / runs;
		if (has_fail && v > fail)
		{
			status = SLO_FAIL;
			verdict = psprintf(" (fail_above %s)", Pct(fail));
		}
		else if (has_warn && v > warn)
		{
			status = SLO_WARN;
			verdict = psprintf(" (warn_above %s)", Pct(warn));
		}
		else if (has_fail)
			verdict = psprintf(", within fail_above %s", Pct(fail));
		else if (has_warn)
			verdict = psprintf(", within warn_above %s", Pct(warn));
		SloOutcomeSet(out, status, true, v,
					  INT64_FORMAT " of %s%.0f result%s of %s in the last %s failed: %s%s.",
					  wd.failed, estimated ? "about " : "", runs, runs == 1 ? "" : "s", of, window,
					  Pct(v), verdict);
		return;
	}

	appendStringInfo(&detail, ", \"percentile\": %.6g}", pct);
	SloOutcomeDetail(out, detail.data);
	what = PercentileLabel(pct);
	if (!wd.has_percentile)
	{
		if (wd.results > 0)
			SloOutcomeSet(out, SLO_OK, false, 0,
						  "No values from %s in the last %s (" INT64_FORMAT " result%s without a value); nothing to judge.",
						  of, window, wd.results, wd.results == 1 ? "" : "s");
		else
			SloOutcomeSet(out, SLO_OK, false, 0,
						  "No results of %s in the last %s%s; nothing to judge.", of, window,
						  wd.of_enabled ? "" : " (it is disabled)");
		return;
	}
	v = wd.percentile;
	if (wd.of_kind)
	{
		const SloKind *of_kind = SloFindKind(wd.of_kind);

		if (of_kind && of_kind->value_is_latency)
			unit = " ms";
	}
	if (has_fail && v > fail)
	{
		status = SLO_FAIL;
		verdict = psprintf(" (fail_above %s)", Num(fail));
	}
	else if (has_warn && v > warn)
	{
		status = SLO_WARN;
		verdict = psprintf(" (warn_above %s)", Num(warn));
	}
	else if (has_fail)
		verdict = psprintf(", within fail_above %s", Num(fail));
	else if (has_warn)
		verdict = psprintf(", within warn_above %s", Num(warn));
	SloOutcomeSet(out, status, true, v, "%s of %s over the last %s is %s%s%s.",
				  what, of, window, Num(v), unit, verdict);
}

const SloKind SloKindWindow = {
	.name = KIND_NAME,
	.description = "a percentile (default 0.95) of another check's values, or with fail_rate its share of fail/error results, over a time window; warn/fail above warn_above/fail_above; no data is ok",
	.params = params,
	.validate = window_validate,
	.run = window_run,
};
