/*-------------------------------------------------------------------------
 * setting.c
 *	  Check kind "setting": a configuration parameter (built-in, or custom
 *	  such as app.data_region set with ALTER DATABASE ... SET) must be set
 *	  to one of the allowed values.
 *
 *	  The value is read as the check's owner sees it (the run loop has
 *	  switched to that role), with the privileges SHOW would need: a setting
 *	  only superusers or pg_read_all_settings may see is an error for other
 *	  owners rather than a way to read it.  Unset means undefined or set to
 *	  the empty string.  Values compare exactly as SHOW prints them (so a
 *	  boolean is "on"/"off").  No value is recorded.
 *
 *	  ALTER DATABASE / ALTER ROLE ALL ... SET values are read from
 *	  pg_db_role_setting at every run, so the worker sees them without
 *	  reconnecting; a value the session got from such an entry that has since
 *	  been RESET counts as unset.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/json.h"

#include "kind.h"

#define KIND_NAME "setting"

/* A setting's value is cut to this length in summaries. */
#define MAX_SHOWN_VALUE 100

static const SloParam params[] = {
	{"name", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"allowed", SLO_PARAM_NAME_ARRAY, true, SLO_NO_RANGE},
	SLO_PARAM_END
};

/*
 * Is name shaped like a configuration parameter name?  The rules of guc.c:
 * dot-separated parts, each starting with a letter or underscore, then
 * letters, digits, underscores or dollar signs.
 */
static bool
IsGucName(const char *name)
{
	bool		part_start = true;

	for (const char *p = name; *p; p++)
	{
		if (*p == '.')
		{
			if (part_start)
				return false;
			part_start = true;
		}
		else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
				 *p == '_' || IS_HIGHBIT_SET(*p))
			part_start = false;
		else if (!part_start && ((*p >= '0' && *p <= '9') || *p == '$'))
			;
		else
			return false;
	}
	return !part_start;
}

/* Refuse a name that could never be a setting. */
static void
setting_validate(Jsonb *p)
{
	const char *name = SloParamString(p, "name", NULL);

	if (!IsGucName(name))
		SloParamError(KIND_NAME, "name", quote_literal_cstr(name),
					  "The value must be a configuration parameter name such as \"wal_level\" or \"app.data_region\".");
}

/* A value quoted for a summary, cut to a readable length. */
static char *
Shown(const char *value)
{
	size_t		len = strlen(value);

	if (len > MAX_SHOWN_VALUE)
		return psprintf("\"%.*s...\"", pg_mbcliplen(value, len, MAX_SHOWN_VALUE), value);
	return psprintf("\"%s\"", value);
}

/*
 * The value a new session of this database gets, read fresh from
 * pg_db_role_setting (ALTER DATABASE ... SET, then ALTER ROLE ALL ... SET)
 * and falling back to this session's value.  A long-lived session such as
 * the worker keeps the values of when it connected, so its own GUC would
 * miss an ALTER DATABASE made since.  A value this session got from such an
 * entry that has since been removed counts as unset.
 */
/* Where this session's value of a setting came from (PGC_S_DEFAULT if unknown). */
static GucSource
SessionSource(const char *name)
{
	struct config_generic **vars;
	int			n;

#if PG_VERSION_NUM >= 160000
	vars = get_guc_variables(&n);
#else
	vars = get_guc_variables();
	n = GetNumConfigOptions();
#endif
	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i]->source;
	return PGC_S_DEFAULT;
}

static const char *
CurrentValue(const char *name)
{
	static SPIPlanPtr stored_plan = NULL;

	/*
	 * As SHOW prints it (units included), with the privileges SHOW needs,
	 * checked before anything is read.
	 */
	const char *session = GetConfigOptionByName(name, NULL, true);
	const char *result = session;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];
	bool		stored;
	MemoryContext cxt = CurrentMemoryContext;

	values[0] = ObjectIdGetDatum(MyDatabaseId);
	values[1] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	SloKeptQuery(&stored_plan,
				 "SELECT pg_catalog.substr(c, pg_catalog.strpos(c, '=') + 1) "
				 "FROM pg_catalog.pg_db_role_setting s, "
				 "     pg_catalog.unnest(s.setconfig) c "
				 "WHERE s.setrole = 0 AND s.setdatabase IN (0, $1) "
				 "  AND pg_catalog.lower(pg_catalog.split_part(c, '=', 1)) = pg_catalog.lower($2) "
				 "ORDER BY s.setdatabase DESC LIMIT 1",
				 2, types, values);
	stored = (SPI_processed == 1);
	if (stored)
		result = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1));
	SPI_finish();

	/* this session got it from an entry that is gone: unset for a new session */
	if (!stored && session != NULL)
	{
		GucSource	source = SessionSource(name);

		if (source == PGC_S_DATABASE || source == PGC_S_GLOBAL)
			result = NULL;
	}
	return result;
}

/* Read the setting and compare it with the allowed values. */
static void
setting_run(const SloCheck *check, SloOutcome *out)
{
	const char *name;
	int			nallowed;
	char	  **allowed;
	const char *value;
	StringInfoData list;
	StringInfoData detail;

	SloRunParams(check);
	name = SloRunString(check, "name");
	allowed = SloRunNames(check, "allowed", &nallowed);
	value = CurrentValue(name);
	initStringInfo(&list);
	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"setting\": ");
	escape_json(&detail, name);
	appendStringInfoString(&detail, ", \"allowed\": [");
	for (int i = 0; i < nallowed; i++)
	{
		appendStringInfo(&list, "%s%s", i ? ", " : "", Shown(allowed[i]));
		if (i > 0)
			appendStringInfoString(&detail, ", ");
		escape_json(&detail, allowed[i]);
	}
	appendStringInfoString(&detail, "]}");
	SloOutcomeDetail(out, detail.data);

	if (value == NULL || value[0] == '\0')
	{
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "%s is not set; allowed: %s.", name, list.data);
		return;
	}
	for (int i = 0; i < nallowed; i++)
		if (strcmp(value, allowed[i]) == 0)
		{
			SloOutcomeSet(out, SLO_OK, false, 0, "%s is %s, which is allowed.",
						  name, Shown(value));
			return;
		}
	SloOutcomeSet(out, SLO_FAIL, false, 0, "%s is %s; allowed: %s.",
				  name, Shown(value), list.data);
}

const SloKind SloKindSetting = {
	.name = KIND_NAME,
	.description = "fails when a setting (custom ones like app.data_region included) is unset or not one of the allowed values",
	.params = params,
	.validate = setting_validate,
	.run = setting_run,
};
