/*-------------------------------------------------------------------------
 * catalog.c
 *	  Check kinds that watch the schema itself: table_exists, columns_exist,
 *	  function_exists.  They read the system caches only (no SPI), so a pass
 *	  of a thousand of them costs a few milliseconds.
 *
 *	  Names resolve with the check's search_path (captured when it was added).
 *	  A name that does not resolve is a failure, never an error: a check may
 *	  name objects that do not exist yet.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "kind.h"

/* Validate each element of an array param as a [schema.]name. */
static void
ValidateNameArray(const char *kind, const char *key, Jsonb *params)
{
	int			n;
	char	  **names = SloParamStringArray(params, key, &n);

	for (int i = 0; i < n; i++)
	{
		List	   *l = SloParseQualifiedName(names[i]);

		if (l == NIL || list_length(l) > 2)
			SloParamError(kind, key, quote_literal_cstr(names[i]),
						  "Each element must be a name or schema.name, quoted as in SQL where needed.");
	}
}

/* "a, b, c" from a list of C strings, for summaries. */
static char *
JoinNames(char **names, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", names[i]);
	return buf.data;
}

/* ---- table_exists ---- */

static const SloParam table_exists_params[] = {
	{"tables", SLO_PARAM_NAME_ARRAY, true, SLO_NO_RANGE},
	{"guard", SLO_PARAM_GUARD, false, SLO_NO_RANGE},	/* re-run by DDL (src/guard.c) */
	SLO_PARAM_END
};

static void
table_exists_validate(Jsonb *params)
{
	ValidateNameArray("table_exists", "tables", params);
}

static void
table_exists_run(const SloCheck *check, SloOutcome *out)
{
	int			n,
				nmissing = 0;
	char	  **tables;
	char	  **missing;

	SloRunParams(check);
	tables = SloRunNames(check, "tables", &n);
	missing = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
		if (!OidIsValid(SloLookupRelation(tables[i], NoLock)))
			missing[nmissing++] = tables[i];

	if (nmissing == 0)
		SloOutcomeSet(out, SLO_OK, true, 0, "%s exist%s.",
					  n == 1 ? psprintf("Table %s", tables[0]) : psprintf("All %d tables", n),
					  n == 1 ? "s" : "");
	else if (n == 1)
		SloOutcomeSet(out, SLO_FAIL, true, 1, "Table %s is missing.", tables[0]);
	else
		SloOutcomeSet(out, SLO_FAIL, true, nmissing, "%d of %d tables missing: %s.",
					  nmissing, n, JoinNames(missing, nmissing));
}

const SloKind SloKindTableExists = {
	.name = "table_exists",
	.description = "fails when any of the listed tables (or views) is missing; value = number missing",
	.params = table_exists_params,
	.validate = table_exists_validate,
	.run = table_exists_run,
	.can_guard = true,
};

/* ---- columns_exist ---- */

static const SloParam columns_exist_params[] = {
	{"table", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"columns", SLO_PARAM_STRING_ARRAY, true, SLO_NO_RANGE},
	{"guard", SLO_PARAM_GUARD, false, SLO_NO_RANGE},	/* re-run by DDL (src/guard.c) */
	SLO_PARAM_END
};

static void
columns_exist_validate(Jsonb *params)
{
	const char *table = SloParamString(params, "table", NULL);
	List	   *l = SloParseQualifiedName(table);
	int			n;
	char	  **cols = SloParamStringArray(params, "columns", &n);

	if (l == NIL || list_length(l) > 2)
		SloParamError("columns_exist", "table", quote_literal_cstr(table),
					  "The value must be a table name or schema.table.");
	if (n == 0)
		SloParamError("columns_exist", "columns", "[]",
					  "List at least one column.");
	for (int i = 0; i < n; i++)
		if (cols[i][0] == '\0' || strlen(cols[i]) >= NAMEDATALEN)
			SloParamError("columns_exist", "columns", quote_literal_cstr(cols[i]),
						  "Each element must be a column name (as stored, without quotes).");
}

static void
columns_exist_run(const SloCheck *check, SloOutcome *out)
{
	const char *table;
	int			n,
				nmissing = 0;
	char	  **cols;
	char	  **missing;
	Oid			relid;

	SloRunParams(check);
	table = SloRunString(check, "table");
	cols = SloRunNames(check, "columns", &n);
	missing = palloc(sizeof(char *) * n);
	relid = SloLookupRelation(table, NoLock);
	if (!OidIsValid(relid))
	{
		SloOutcomeSet(out, SLO_FAIL, true, n,
					  "Table %s does not exist, so its %d watched columns are missing.", table, n);
		return;
	}
	for (int i = 0; i < n; i++)
		if (get_attnum(relid, cols[i]) == InvalidAttrNumber)
			missing[nmissing++] = cols[i];

	if (nmissing == 0)
		SloOutcomeSet(out, SLO_OK, true, 0, "All %d columns of %s exist.", n, table);
	else
		SloOutcomeSet(out, SLO_FAIL, true, nmissing, "%d of %d columns missing from %s: %s.",
					  nmissing, n, table, JoinNames(missing, nmissing));
}

const SloKind SloKindColumnsExist = {
	.name = "columns_exist",
	.description = "fails when the table or any of the listed columns is missing; value = number missing",
	.params = columns_exist_params,
	.validate = columns_exist_validate,
	.run = columns_exist_run,
	.can_guard = true,
};

/* ---- function_exists ---- */

static const SloParam function_exists_params[] = {
	{"functions", SLO_PARAM_NAME_ARRAY, true, SLO_NO_RANGE},
	{"guard", SLO_PARAM_GUARD, false, SLO_NO_RANGE},	/* re-run by DDL (src/guard.c) */
	SLO_PARAM_END
};

static void
function_exists_validate(Jsonb *params)
{
	int			n;
	char	  **funcs = SloParamStringArray(params, "functions", &n);

	for (int i = 0; i < n; i++)
	{
		char	   *paren = strchr(funcs[i], '(');
		char	   *name = paren ? pnstrdup(funcs[i], paren - funcs[i]) : funcs[i];
		List	   *l = SloParseQualifiedName(name);

		if (l == NIL || list_length(l) > 2 ||
			(paren && funcs[i][strlen(funcs[i]) - 1] != ')'))
			SloParamError("function_exists", "functions", quote_literal_cstr(funcs[i]),
						  "Each element must be a function name (any overload) or a signature such as \"public.f(integer, text)\".");
	}
}

/* Does a function of this name (any overload) or this exact signature exist? */
static bool
FunctionExists(const char *spec)
{
	if (strchr(spec, '(') != NULL)
	{
		/*
		 * to_regprocedure returns NULL for a missing function (so it cannot go
		 * through DirectFunctionCall1); an unknown argument type is an error.
		 */
		LOCAL_FCINFO(fcinfo, 1);
		Datum		d;

		InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = CStringGetTextDatum(spec);
		fcinfo->args[0].isnull = false;
		d = to_regprocedure(fcinfo);
		return !fcinfo->isnull && OidIsValid(DatumGetObjectId(d));
	}
	else
	{
		List	   *l = SloParseQualifiedName(spec);

		if (l == NIL)
			return false;
		return FuncnameGetCandidates(l, -1, NIL, false, false, false, true) != NULL;
	}
}

static void
function_exists_run(const SloCheck *check, SloOutcome *out)
{
	int			n,
				nmissing = 0;
	char	  **funcs;
	char	  **missing;

	SloRunParams(check);
	funcs = SloRunNames(check, "functions", &n);
	missing = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
		if (!FunctionExists(funcs[i]))
			missing[nmissing++] = funcs[i];

	if (nmissing == 0)
		SloOutcomeSet(out, SLO_OK, true, 0, "%s exist%s.",
					  n == 1 ? psprintf("Function %s", funcs[0]) : psprintf("All %d functions", n),
					  n == 1 ? "s" : "");
	else if (n == 1)
		SloOutcomeSet(out, SLO_FAIL, true, 1, "Function %s is missing.", funcs[0]);
	else
		SloOutcomeSet(out, SLO_FAIL, true, nmissing, "%d of %d functions missing: %s.",
					  nmissing, n, JoinNames(missing, nmissing));
}

const SloKind SloKindFunctionExists = {
	.name = "function_exists",
	.description = "fails when any listed function (name or signature) is missing; value = number missing",
	.params = function_exists_params,
	.validate = function_exists_validate,
	.run = function_exists_run,
	.can_guard = true,
};
