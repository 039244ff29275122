/*-------------------------------------------------------------------------
 * failing.c
 *	  Check kind "failing_checks": the runbooks' "multiple category
 *	  failures" early warning.  It fails when at least min_failing (default
 *	  2) other checks are failing at once or, with by_label, when the failing
 *	  checks carry at least min_failing distinct values of that label
 *	  ({"by_label": "category"}: two categories failing together).  pattern
 *	  (a LIKE pattern on check names, default '%') limits which checks count.
 *
 *	  A check is failing when it is enabled and its current status (the
 *	  latest result, slo_check_state.status) is fail or error: it is pending
 *	  or firing.  A silenced check still counts (a silence stops the noise,
 *	  not the facts).  A failing_checks check never counts itself or any
 *	  other failing_checks check, so two of them cannot feed each other.
 *	  With by_label, failing checks without that label are not counted.
 *
 *	  value = the count (checks, or distinct label values); the summary names
 *	  the first few (by severity, then name), the detail lists up to 50.  It
 *	  reads slo_check / slo_check_state as the extension owner; results of
 *	  checks run in the same pass are written at the pass's end, so it sees
 *	  the other checks as of the previous pass.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "extension.h"
#include "kind.h"
#include "oncall.h"

#define KIND_NAME "failing_checks"
#define DEFAULT_MIN_FAILING 2
/* Names in the summary, and in the detail. */
#define SUMMARY_NAMES 5
#define DETAIL_NAMES 50

static const SloParam params[] = {
	{"min_failing", SLO_PARAM_INTEGER, false, 1, 100000},
	{"by_label", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"pattern", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

static void
failing_validate(Jsonb *p)
{
	const char *pattern = SloParamString(p, "pattern", NULL);

	if (pattern && !SloLikePatternValid(pattern))
		SloParamError(KIND_NAME, "pattern", SloParamText(p, "pattern"),
					  "A LIKE pattern must not end with the escape character (backslash).");
}

static void
failing_run(const SloCheck *check, SloOutcome *out)
{
	double		min_d = DEFAULT_MIN_FAILING;
	int64		min_failing;
	const char *by_label;
	const char *pattern;
	SloBookkeeping bk;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	char	   *sql;
	uint64		nrows;
	int64		count = 0;
	StringInfoData names;
	StringInfoData detail;
	int			shown = 0;
	char	   *prev_group = NULL;
	bool		group_shown = false;
	MemoryContext callercxt = CurrentMemoryContext;

	SloRunParams(check);
	(void) SloParamNumber(check->params, "min_failing", &min_d);
	min_failing = (int64) min_d;
	by_label = SloParamString(check->params, "by_label", NULL);
	pattern = SloParamString(check->params, "pattern", "%");

	initStringInfo(&names);
	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"min_failing\": " INT64_FORMAT ", \"pattern\": ", min_failing);
	escape_json(&detail, pattern);
	if (by_label)
	{
		appendStringInfoString(&detail, ", \"by_label\": ");
		escape_json(&detail, by_label);
	}
	appendStringInfoString(&detail, ", \"failing\": [");

	SloEnterBookkeeping(check->ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(check->id);
	values[1] = CStringGetTextDatum(pattern);
	values[2] = by_label ? CStringGetTextDatum(by_label) : (Datum) 0;
	if (!by_label)
		nulls[2] = 'n';
	/* one row per failing check: (group, name); group = label value or the name */
	sql = psprintf("SELECT coalesce(c.labels OPERATOR(pg_catalog.->>) $3, c.name) AS g, c.name "
				   "  FROM %s.slo_check c JOIN %s.slo_check_state s ON s.check_id = c.id "
				   " WHERE c.enabled AND c.id <> $1 AND c.kind <> '" KIND_NAME "'"
				   "   AND c.name OPERATOR(pg_catalog.~~) $2"
				   "   AND s.status IN ('fail', 'error')"
				   "   AND ($3 IS NULL OR c.labels OPERATOR(pg_catalog.->>) $3 IS NOT NULL)"
				   " ORDER BY 1, c.severity, c.name",
				   check->ext->nspname, check->ext->nspname);
	if (SPI_execute_with_args(sql, 3, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the state of the checks");
	nrows = SPI_processed;
	for (uint64 i = 0; i < nrows; i++)
	{
		char	   *group = SloColText(i, 1);
		char	   *name = SloColText(i, 2);
		bool		new_group = (prev_group == NULL || strcmp(group, prev_group) != 0);

		if (new_group)
		{
			count++;
			group_shown = (shown < SUMMARY_NAMES);
			if (group_shown)
			{
				if (by_label)
					appendStringInfo(&names, "%s%s (%s", shown ? "), " : "", group, name);
				else
					appendStringInfo(&names, "%s%s", shown ? ", " : "", name);
				shown++;
			}
		}
		else if (group_shown)
			appendStringInfo(&names, ", %s", name);
		if (i < DETAIL_NAMES)
		{
			appendStringInfo(&detail, "%s{\"check\": ", i ? ", " : "");
			escape_json(&detail, name);
			if (by_label)
			{
				appendStringInfoString(&detail, ", \"label\": ");
				escape_json(&detail, group);
			}
			appendStringInfoChar(&detail, '}');
		}
		prev_group = group;
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	MemoryContextSwitchTo(callercxt);

	if (by_label && shown > 0)
		appendStringInfoChar(&names, ')');
	if (count > shown)
		appendStringInfo(&names, " and " INT64_FORMAT " more", count - shown);
	appendStringInfo(&detail, "], \"count\": " INT64_FORMAT ", \"failing_checks\": " UINT64_FORMAT "}",
					 count, nrows);
	SloOutcomeDetail(out, detail.data);

	if (by_label)
		SloOutcomeSet(out, count >= min_failing ? SLO_FAIL : SLO_OK, true, (double) count,
					  INT64_FORMAT " distinct %s value%s among failing checks (min_failing " INT64_FORMAT ")%s%s",
					  count, by_label, count == 1 ? "" : "s", min_failing,
					  count ? ": " : ".", count ? psprintf("%s.", names.data) : "");
	else
		SloOutcomeSet(out, count >= min_failing ? SLO_FAIL : SLO_OK, true, (double) count,
					  INT64_FORMAT " check%s failing (min_failing " INT64_FORMAT ")%s%s",
					  count, count == 1 ? "" : "s", min_failing,
					  count ? ": " : ".", count ? psprintf("%s.", names.data) : "");
}

const SloKind SloKindFailingChecks = {
	.name = KIND_NAME,
	.description = "fails when at least min_failing (2) other checks whose names match pattern (LIKE, '%') are failing (latest status fail or error), or with by_label when the failing checks carry at least min_failing distinct values of that label; value = the count",
	.params = params,
	.validate = failing_validate,
	.run = failing_run,
};
