/*-------------------------------------------------------------------------
 * common.c
 *	  Helpers shared by check kinds: parsing the [schema.]name a user gave,
 *	  resolving it to a relation, and running catalog queries through plans
 *	  kept for the life of the backend.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "kind.h"

/*
 * Parse "[schema.]name" as SQL does (quotes, case folding, truncation), like
 * stringToQualifiedNameList but returning NIL instead of throwing.
 */
List *
SloParseQualifiedName(const char *str)
{
	List	   *parts = NIL;
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(pstrdup(str), '.', &parts) || parts == NIL)
		return NIL;
	foreach(lc, parts)
		names = lappend(names, makeString((char *) lfirst(lc)));
	return names;
}

/*
 * The relation a [schema.]name denotes on the current search_path, or
 * InvalidOid.  A temporary relation (of this session or any other) is never
 * what a check watches: a caller could plant one to stand in for the real
 * table, so it counts as missing.
 */
Oid
SloLookupRelation(const char *name, LOCKMODE lockmode)
{
	List	   *l = SloParseQualifiedName(name);
	Oid			relid;

	if (l == NIL || list_length(l) > 2)
		return InvalidOid;
	relid = RangeVarGetRelid(makeRangeVarFromNameList(l), lockmode, true);
	if (OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		return InvalidOid;
	return relid;
}

/*
 * Run a read-only query through a plan prepared once per backend: planning
 * the catalog and statistics views costs more than reading them.  The plan
 * cache replans after DDL on what the query reads; privileges are checked at
 * each execution, as the check's owner.  Leaves the rows in SPI_tuptable.
 */
void
SloKeptQuery(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types, Datum *values)
{
	int			ret;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "slo_guard: query did not prepare: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "slo_guard: SPI_keepplan failed");
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: query failed: %s", SPI_result_code_string(ret));
}

/* Column col (1-based) of SPI result row row as text, or NULL. */
char *
SloColText(uint64 row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* A float8 column (the queries cast); 0 when NULL, and *isnull set if given. */
double
SloColFloat(uint64 row, int col, bool *isnull)
{
	bool		null;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &null);

	if (isnull)
		*isnull = null;
	return null ? 0 : DatumGetFloat8(d);
}

/* An int8 column; 0 when NULL. */
int64
SloColInt8(uint64 row, int col)
{
	bool		null;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &null);

	return null ? 0 : DatumGetInt64(d);
}

/* A boolean column; false when NULL. */
bool
SloColBool(uint64 row, int col)
{
	bool		null;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &null);

	return !null && DatumGetBool(d);
}

/*
 * Params as a runner reads them.  slo_add_check validates params, but a row
 * can reach a runner without that: an older dump, a row edited by the table
 * owner, a kind whose rules grew stricter.  Each runner starts with
 * SloRunParams(), which applies the same validation (so a bad row is an
 * `error` result whose message names the key, SQLSTATE 22023), and reads its
 * required keys with SloRunString / SloRunNames, which never return NULL.
 */
void
SloRunParams(const SloCheck *check)
{
	if (check->params == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check \"%s\" of kind \"%s\" has no params",
						check->name, check->kind->name)));
	SloValidateCheckParams(check->kind, check->params);
}

/* A required string param; 22023 naming the key when it is absent or not a string. */
const char *
SloRunString(const SloCheck *check, const char *key)
{
	const char *s = SloParamString(check->params, key, NULL);

	if (s == NULL || s[0] == '\0')
	{
		char	   *shown = SloParamText(check->params, key);

		if (shown == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("check kind \"%s\" requires parameter \"%s\"",
							check->kind->name, key)));
		SloParamError(check->kind->name, key, shown, "The value must be a non-empty string.");
	}
	return s;
}

/* A required non-empty array of names; 22023 naming the key otherwise. */
char	  **
SloRunNames(const SloCheck *check, const char *key, int *n)
{
	char	  **names = SloParamStringArray(check->params, key, n);

	if (names == NULL || *n == 0)
	{
		char	   *shown = SloParamText(check->params, key);

		if (shown == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("check kind \"%s\" requires parameter \"%s\"",
							check->kind->name, key)));
		SloParamError(check->kind->name, key, shown,
					  "The value must be a non-empty array of names (strings).");
	}
	return names;
}

/*
 * Error classes whose messages may quote the data that caused them: data
 * exceptions ("invalid input syntax for type integer: \"<value>\"", but
 * not division by zero, whose message is fixed),
 * integrity violations ("Key (email)=(...)"), RAISE in a function the query
 * calls (any text its author chose), external routine and internal errors.
 */
static const char *
RowValueClass(int sqlerrcode)
{
	/* always just "division by zero" */
	if (sqlerrcode == ERRCODE_DIVISION_BY_ZERO)
		return NULL;
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
			return "a data exception";
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
			return "an integrity constraint violation";
		case ERRCODE_PLPGSQL_ERROR:
			return "an error raised by a function (RAISE, ASSERT)";
		case ERRCODE_EXTERNAL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION:
		case ERRCODE_SQL_ROUTINE_EXCEPTION:
			return "an error of a routine it called";
		case ERRCODE_INTERNAL_ERROR:
			return "an internal error";
	}
	return NULL;
}

/*
 * Run fn(arg), which reads user data (a user's query, a migration table).
 * An error of a class whose message may hold row values is replaced by one
 * with the same SQLSTATE that says what kind of error it was, without its
 * message, detail or hint: results and alerts never hold row content.  Other
 * errors (syntax, missing objects, permissions, timeouts and cancels) go on
 * unchanged.
 */
void
SloRunUserCode(const char *what, void (*fn) (void *), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;
	const char *volatile cls = NULL;

	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		MemoryContext ecxt = MemoryContextSwitchTo(cxt);
		ErrorData  *e = CopyErrorData();

		cls = RowValueClass(e->sqlerrcode);
		if (cls == NULL)
		{
			MemoryContextSwitchTo(ecxt);
			FreeErrorData(e);
			PG_RE_THROW();
		}
		FlushErrorState();
		edata = e;
	}
	PG_END_TRY();

	if (edata != NULL)
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("%s failed with %s; its message is not recorded because it may hold row values",
						what, cls),
				 errhint("Run the query yourself to see the message.")));
}
