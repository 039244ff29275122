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
