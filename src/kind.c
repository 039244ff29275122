/*-------------------------------------------------------------------------
 * kind.c
 *	  The table of check kinds, lookup by name, and slo_kinds() which lists
 *	  them for users.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "extension.h"
#include "kind.h"

/* Adding a kind: one file in src/kinds/ and one row here. */
static const SloKind *const SloKinds[] = {
	&SloKindTableExists,
	&SloKindColumnsExist,
	&SloKindFunctionExists,
	&SloKindMigration,
	&SloKindSetting,
	&SloKindSql,
	&SloKindTableGrowth,
	&SloKindWindow,
	&SloKindConnections,
	&SloKindWraparound,
	&SloKindLongTransactions,
	&SloKindRlsDisabled,
	&SloKindReplicationLag,
	&SloKindSlowQueries,
	&SloKindObjective,			/* objective.c (issue 13): internal, per objective */
	&SloKindHttp,				/* kinds/http.c (issue 11) */
	&SloKindFailingChecks,		/* kinds/failing.c (issue 12) */
#ifdef SLO_TEST_KINDS
	&SloKindTestAsync,
#endif
};

#define SLO_NKINDS lengthof(SloKinds)

const SloKind *
SloFindKind(const char *name)
{
	for (size_t i = 0; i < SLO_NKINDS; i++)
		if (strcmp(SloKinds[i]->name, name) == 0)
			return SloKinds[i];
	return NULL;
}

static char *
KindList(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < SLO_NKINDS; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", SloKinds[i]->name);
	return buf.data;
}

const SloKind *
SloGetKind(const char *name)
{
	const SloKind *k = SloFindKind(name);

	if (k == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown check kind \"%s\"", SloShownText(name)),
				 errhint("Known kinds are: %s.", KindList())));
	return k;
}

void
SloValidateCheckParams(const SloKind *kind, Jsonb *params)
{
	SloValidateParams(kind->name, kind->params, params);
	if (kind->validate)
		kind->validate(params);
}

PG_FUNCTION_INFO_V1(slo_kinds);

/* slo_kinds(): one row per kind with its params, required ones marked '*'. */
Datum
slo_kinds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SloExtension ext;

	SloGetExtension(&ext);		/* refuses a schema of another version */
	InitMaterializedSRF(fcinfo, 0);
	for (size_t i = 0; i < SLO_NKINDS; i++)
	{
		const SloKind *k = SloKinds[i];
		StringInfoData buf;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		initStringInfo(&buf);
		for (const SloParam *p = k->params; p->key != NULL; p++)
			appendStringInfo(&buf, "%s%s%s", buf.len ? ", " : "", p->key,
							 p->required ? "*" : "");
		values[0] = CStringGetTextDatum(k->name);
		values[1] = CStringGetTextDatum(buf.data);
		values[2] = CStringGetTextDatum(k->description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

void
SloParamError(const char *kind, const char *key, const char *value, const char *detail)
{
	const SloKind *k = SloFindKind(kind);

	SloParamErrorSpec(kind, k ? k->params : NULL, key, value, detail);
}
