/*-------------------------------------------------------------------------
 * sql.c
 *	  Check kind "sql": a query of the user's that returns one number, with
 *	  warn/fail thresholds above and below.
 *
 *	  The query is checked when the check is added: it must parse and be a
 *	  single SELECT, WITH or VALUES statement (no INTO, no FOR UPDATE, no
 *	  data-modifying WITH).  It runs as the check's owner (the run loop has
 *	  switched roles), read-only: through SPI in read-only mode and with
 *	  transaction_read_only on, so not even a function it calls can write.
 *	  The run loop arms the "timeout" param (the kind's timeout_param).
 *
 *	  The query must give exactly one row of one non-NULL column that is a
 *	  number, or whose text is one; anything else is an error.  Error
 *	  messages never include the value itself, which is user row content,
 *	  and an error the query raises whose message may quote row values (data
 *	  exceptions such as a failed cast, RAISE in a function it calls, ...) is
 *	  recorded by its SQLSTATE and class only (SloRunUserCode).
 *	  The number is recorded as the result's value (so a check without
 *	  thresholds can feed a window check).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "kind.h"

#define KIND_NAME "sql"

static const SloParam params[] = {
	{"query", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"warn_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"fail_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"warn_below", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"fail_below", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"timeout", SLO_PARAM_INTERVAL, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

/* Shortest exact text of a number, for messages and summaries. */
static char *
Num(double d)
{
	return float8out_internal(d);
}

/* The query quoted for an error message, cut to a readable length. */
static char *
ShownQuery(const char *query)
{
	char	   *shown = SloShownText(query);
	size_t		len = strlen(query);

	if (shown != query)
	{
		int			cut = pg_mbcharcliplen(query, len, SLO_SHOWN_CHARS);

		return psprintf("%s%s", quote_literal_cstr(pnstrdup(query, cut)), shown + cut);
	}
	return quote_literal_cstr(query);
}

/* Parse the query; a syntax error becomes the 22023 error naming the key. */
static List *
ParseQuery(const char *query)
{
	List	   *volatile stmts = NIL;
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		stmts = raw_parser(query, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		/* Only mistakes in the text become ours; resource errors go on. */
		switch (ERRCODE_TO_CATEGORY(edata->sqlerrcode))
		{
			case ERRCODE_INSUFFICIENT_RESOURCES:
			case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			case ERRCODE_OPERATOR_INTERVENTION:
			case ERRCODE_INTERNAL_ERROR:
				PG_RE_THROW();
		}
		FlushErrorState();
	}
	PG_END_TRY();

	if (edata != NULL)
		SloParamError(KIND_NAME, "query", ShownQuery(query),
					  psprintf("The query does not parse: %s.", edata->message));
	return stmts;
}

/*
 * Does a raw parse tree hold a row-locking clause (FOR UPDATE / NO KEY UPDATE /
 * SHARE / KEY SHARE) anywhere: a subquery in FROM, a sublink, a CTE?  A check
 * runs read-only, so such a query would fail at every run; it is refused when
 * added instead.
 */
static bool
HasLockingClause(Node *node, void *context)
{
	if (node == NULL)
		return false;
	check_stack_depth();
	if (IsA(node, SelectStmt) && ((SelectStmt *) node)->lockingClause != NIL)
		return true;
	return raw_expression_tree_walker(node, HasLockingClause, context);
}

/* Is a raw statement a plain read: SELECT, WITH ... SELECT or VALUES? */
static bool
IsPlainSelect(Node *stmt)
{
	SelectStmt *sel;
	ListCell   *lc;

	if (!IsA(stmt, SelectStmt))
		return false;
	sel = (SelectStmt *) stmt;
	if (sel->intoClause != NULL || sel->lockingClause != NIL)
		return false;
	if (sel->withClause != NULL)
		foreach(lc, sel->withClause->ctes)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (!IsA(cte->ctequery, SelectStmt))
				return false;
		}
	return true;
}

/* Refuse a query that is not one read-only statement, and crossed thresholds. */
static void
sql_validate(Jsonb *p)
{
	const char *query = SloParamString(p, "query", NULL);
	List	   *stmts = ParseQuery(query);
	double		warn,
				fail;

	if (stmts == NIL)
		SloParamError(KIND_NAME, "query", ShownQuery(query),
					  "The query is empty; it must be a SELECT that returns one number.");
	if (list_length(stmts) > 1)
		SloParamError(KIND_NAME, "query", ShownQuery(query),
					  psprintf("The query must be a single statement, not %d.",
							   list_length(stmts)));
	if (!IsPlainSelect(linitial_node(RawStmt, stmts)->stmt))
		SloParamError(KIND_NAME, "query", ShownQuery(query),
					  "The query must be a single SELECT, WITH or VALUES statement that only reads (no INTO, FOR UPDATE or data-modifying WITH).");
	/* only a SELECT tree is walked: the raw walker knows its nodes */
	if (HasLockingClause(linitial_node(RawStmt, stmts)->stmt, NULL))
		SloParamError(KIND_NAME, "query", ShownQuery(query),
					  "The query locks rows (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE or FOR KEY SHARE, here or in a subquery); a check runs read-only, so it would fail at every run.");

	if (SloParamNumber(p, "warn_above", &warn) &&
		SloParamNumber(p, "fail_above", &fail) && warn > fail)
		SloParamError(KIND_NAME, "warn_above", Num(warn),
					  psprintf("warn_above (%s) must not be greater than fail_above (%s).",
							   Num(warn), Num(fail)));
	if (SloParamNumber(p, "warn_below", &warn) &&
		SloParamNumber(p, "fail_below", &fail) && warn < fail)
		SloParamError(KIND_NAME, "warn_below", Num(warn),
					  psprintf("warn_below (%s) must not be less than fail_below (%s).",
							   Num(warn), Num(fail)));
}

/* Convert the single result datum to a double, or raise an error. */
static double
ResultNumber(const SloCheck *check, Datum d, Oid type)
{
	double		v;

	switch (type)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			v = (double) DatumGetFloat4(d);
			break;
		case FLOAT8OID:
			v = DatumGetFloat8(d);
			break;
		case NUMERICOID:
			v = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
			break;
		default:
			{
				Oid			outfunc;
				bool		isvarlena;
				char	   *text;
				char	   *end;

				getTypeOutputInfo(type, &outfunc, &isvarlena);
				text = OidOutputFunctionCall(outfunc, d);
				while (isspace((unsigned char) *text))
					text++;
				errno = 0;
				v = strtod(text, &end);
				while (isspace((unsigned char) *end))
					end++;
				if (end == text || *end != '\0' || errno == ERANGE)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("query of sql check \"%s\" returned a value of type %s that is not a number",
									check->name, format_type_be(type)),
							 errhint("The query must return one number; cast the column to numeric.")));
				break;
			}
	}
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("query of sql check \"%s\" returned NaN, not a number",
						check->name)));
	return v;
}

/* The user's query, run through SloRunUserCode. */
typedef struct SqlQuery
{
	const char *query;
	int			ret;
} SqlQuery;

static void
ExecuteQuery(void *arg)
{
	SqlQuery   *q = (SqlQuery *) arg;

	q->ret = SPI_execute(q->query, true, 2);
}

/* Run the query, insist on one number, and compare it with the thresholds. */
static void
sql_run(const SloCheck *check, SloOutcome *out)
{
	const char *query;
	int			ret;
	int			nest;
	TupleDesc	desc;
	Datum		d;
	bool		isnull;
	double		v,
				warn_above,
				fail_above,
				warn_below,
				fail_below;
	bool		has_wa,
				has_fa,
				has_wb,
				has_fb;

	SloRunParams(check);
	query = SloRunString(check, "query");
	has_wa = SloParamNumber(check->params, "warn_above", &warn_above);
	has_fa = SloParamNumber(check->params, "fail_above", &fail_above);
	has_wb = SloParamNumber(check->params, "warn_below", &warn_below);
	has_fb = SloParamNumber(check->params, "fail_below", &fail_below);

	/* Read-only for everything the query calls too; undone at the end. */
	nest = NewGUCNestLevel();
	(void) set_config_option("transaction_read_only", "on", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		SqlQuery	q = {query, 0};

		SloRunUserCode(psprintf("the query of sql check \"%s\"", check->name), ExecuteQuery, &q);
		ret = q.ret;
	}
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query of sql check \"%s\" is not a SELECT", check->name)));
	desc = SPI_tuptable->tupdesc;
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("query of sql check \"%s\" returned no rows", check->name),
				 errdetail("The query must return exactly one row with one number.")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("query of sql check \"%s\" returned more than one row", check->name),
				 errdetail("The query must return exactly one row with one number.")));
	if (desc->natts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("query of sql check \"%s\" returned %d columns", check->name,
						desc->natts),
				 errdetail("The query must return exactly one row with one number.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], desc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query of sql check \"%s\" returned NULL", check->name),
				 errhint("Use coalesce() if no data means a number, such as 0.")));
	v = ResultNumber(check, d, SPI_gettypeid(desc, 1));

	if (has_fa && v > fail_above)
		SloOutcomeSet(out, SLO_FAIL, true, v, "Query returned %s, above the fail threshold of %s.",
					  Num(v), Num(fail_above));
	else if (has_fb && v < fail_below)
		SloOutcomeSet(out, SLO_FAIL, true, v, "Query returned %s, below the fail threshold of %s.",
					  Num(v), Num(fail_below));
	else if (has_wa && v > warn_above)
		SloOutcomeSet(out, SLO_WARN, true, v, "Query returned %s, above the warn threshold of %s.",
					  Num(v), Num(warn_above));
	else if (has_wb && v < warn_below)
		SloOutcomeSet(out, SLO_WARN, true, v, "Query returned %s, below the warn threshold of %s.",
					  Num(v), Num(warn_below));
	else if (has_wa || has_fa || has_wb || has_fb)
		SloOutcomeSet(out, SLO_OK, true, v, "Query returned %s, within its thresholds.", Num(v));
	else
		SloOutcomeSet(out, SLO_OK, true, v, "Query returned %s.", Num(v));

	SPI_finish();
	AtEOXact_GUC(true, nest);
}

const SloKind SloKindSql = {
	.name = KIND_NAME,
	.description = "runs a read-only query returning one number; warn/fail when it crosses warn_above/fail_above or warn_below/fail_below",
	.params = params,
	.validate = sql_validate,
	.run = sql_run,
	.timeout_param = "timeout",
};
