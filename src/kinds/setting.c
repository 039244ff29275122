/*-------------------------------------------------------------------------
 * setting.c
 *	  Check kind "setting": a configuration parameter (built-in, or custom
 *	  such as app.data_region set with ALTER DATABASE ... SET) must be set
 *	  to one of the allowed values.
 *
 *	  It judges the value a new session of the check's owner in this
 *	  database would get (ALTER ROLE / ALTER DATABASE ... SET, then the
 *	  server's postgresql.conf, ALTER SYSTEM, command line or default), never
 *	  the value the calling session gave itself with SET, set_config() or its
 *	  startup options: whoever runs slo_run_checks() gets the same answer.
 *	  The owner needs the privileges SHOW would need: a setting only
 *	  superusers or pg_read_all_settings may see is an error for other owners
 *	  rather than a way to read it, and its value is never printed, even for
 *	  an owner who may read it.  Unset means undefined or set to the empty
 *	  string.  Values compare as the setting's type does (on = true,
 *	  8MB = 8192kB; strings exactly).  No value is recorded.
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

/* The setting's entry in this session's GUC table, or NULL if it has none. */
static struct config_generic *
FindSetting(const char *name)
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
			return vars[i];
	return NULL;
}

/* The value a new session of the check's owner would get, and where it comes from. */
typedef struct NewSessionValue
{
	const char *value;			/* NULL: unset */
	const char *source;
} NewSessionValue;

/*
 * ALTER ROLE ... IN DATABASE / ALTER ROLE / ALTER DATABASE / ALTER ROLE ALL
 * ... SET, read fresh from pg_db_role_setting, in PostgreSQL's order of
 * precedence for the owner connecting to this database.
 */
static bool
RoleDatabaseValue(const char *name, Oid owner, NewSessionValue *nv)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {OIDOID, TEXTOID, OIDOID};
	Datum		values[3];
	MemoryContext cxt = CurrentMemoryContext;
	bool		found;

	values[0] = ObjectIdGetDatum(MyDatabaseId);
	values[1] = CStringGetTextDatum(name);
	values[2] = ObjectIdGetDatum(owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	SloKeptQuery(&plan,
				 "SELECT pg_catalog.substr(c, pg_catalog.strpos(c, '=') + 1),"
				 "       CASE WHEN s.setrole <> 0 AND s.setdatabase <> 0 THEN 'ALTER ROLE ... IN DATABASE'"
				 "            WHEN s.setrole <> 0 THEN 'ALTER ROLE'"
				 "            WHEN s.setdatabase <> 0 THEN 'ALTER DATABASE'"
				 "            ELSE 'ALTER ROLE ALL' END "
				 "FROM pg_catalog.pg_db_role_setting s, "
				 "     pg_catalog.unnest(s.setconfig) c "
				 "WHERE s.setdatabase IN (0, $1) AND s.setrole IN (0, $3) "
				 "  AND pg_catalog.lower(pg_catalog.split_part(c, '=', 1)) = pg_catalog.lower($2) "
				 "ORDER BY s.setrole <> 0 DESC, s.setdatabase <> 0 DESC LIMIT 1",
				 3, types, values);
	found = (SPI_processed == 1);
	if (found)
	{
		nv->value = MemoryContextStrdup(cxt, SloColText(0, 1));
		nv->source = MemoryContextStrdup(cxt, SloColText(0, 2));
	}
	SPI_finish();
	return found;
}

/*
 * The value in the configuration files (postgresql.conf and its includes,
 * then postgresql.auto.conf), the last one winning as on a reload; NULL if
 * they do not set it.
 */
static const char *
FileValue(const char *name)
{
	ConfigVariable *head = NULL,
			   *tail = NULL;
	const char *value = NULL;

	if (ConfigFileName == NULL ||
		!ParseConfigFile(ConfigFileName, true, NULL, 0, 0, DEBUG1, &head, &tail) ||
		(DataDir != NULL &&
		 !ParseConfigFile(PG_AUTOCONF_FILENAME, false, NULL, 0, 0, DEBUG1, &head, &tail)))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read the configuration files to find the server's value of \"%s\"",
						name),
				 errhint("Fix the configuration file; the server log of a reload names the error.")));
	for (ConfigVariable *v = head; v; v = v->next)
		if (v->name && v->value && !v->ignore && pg_strcasecmp(v->name, name) == 0)
			value = pstrdup(v->value);
	FreeConfigVariables(head);
	return value;
}

/* The unit SHOW would print after a value in the setting's base unit. */
static const char *
BaseUnit(int flags, int64 *factor)
{
	*factor = 1;
	switch (flags & GUC_UNIT)
	{
		case GUC_UNIT_KB:
			return "kB";
		case GUC_UNIT_BLOCKS:
			*factor = BLCKSZ / 1024;
			return "kB";
		case GUC_UNIT_XBLOCKS:
			*factor = XLOG_BLCKSZ / 1024;
			return "kB";
		case GUC_UNIT_MB:
			return "MB";
		case GUC_UNIT_BYTE:
			return "B";
		case GUC_UNIT_MS:
			return "ms";
		case GUC_UNIT_S:
			return "s";
		case GUC_UNIT_MIN:
			return "min";
	}
	return "";
}

/*
 * An int or real setting's value (in its base unit) as SHOW prints it: an
 * int in the largest unit that divides it (8192 kB is "8MB"), a real in its
 * base unit; no unit for 0 and negative values, which usually mean "off".
 */
static char *
WithUnit(int flags, double v, bool is_int)
{
	static const struct
	{
		const char *unit;
		int64		size;		/* in bytes or ms */
	}			memory[] = {
		{"TB", INT64CONST(1) << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}
	},
				time[] = {
		{"d", 86400000}, {"h", 3600000}, {"min", 60000}, {"s", 1000}, {"ms", 1}
	};
	int64		factor;
	const char *unit = BaseUnit(flags, &factor);
	int64		scaled;
	bool		is_memory = (flags & GUC_UNIT_MEMORY) != 0;

	if (unit[0] == '\0' || v <= 0)
		return is_int ? psprintf("%.0f", v) : psprintf("%g", v);
	if (!is_int)
		return psprintf("%g%s", v * factor, unit);
	/* in bytes or milliseconds */
	if (is_memory)
		scaled = (int64) v * factor * (strcmp(unit, "B") == 0 ? 1 : strcmp(unit, "MB") == 0 ? 1 << 20 : 1024);
	else
		scaled = (int64) v * (strcmp(unit, "min") == 0 ? 60000 : strcmp(unit, "s") == 0 ? 1000 : 1);
	for (int i = 0; i < 5; i++)
	{
		int64		size = is_memory ? memory[i].size : time[i].size;

		/* never below the base unit (a kB setting is not shown in bytes) */
		if (is_memory ? (strcmp(unit, "B") != 0 && size < 1024) || (strcmp(unit, "MB") == 0 && size < (1 << 20))
			: (strcmp(unit, "min") == 0 && size < 60000) || (strcmp(unit, "s") == 0 && size < 1000))
			break;
		if (scaled % size == 0)
			return psprintf(INT64_FORMAT "%s", scaled / size, is_memory ? memory[i].unit : time[i].unit);
	}
	return psprintf("%.0f%s", v * factor, unit);
}

/* The reset value (what RESET gives), with its unit. */
static const char *
ResetValue(struct config_generic *rec)
{
	if (rec->vartype == PGC_INT)
		return WithUnit(rec->flags, ((struct config_int *) rec)->reset_val, true);
	if (rec->vartype == PGC_REAL)
		return WithUnit(rec->flags, ((struct config_real *) rec)->reset_val, false);
	return GetConfigOptionResetString(rec->name);
}

/* The built-in default; NULL for a custom setting (a placeholder has none). */
static const char *
BootValue(struct config_generic *rec)
{
	if (rec->flags & GUC_CUSTOM_PLACEHOLDER)
		return NULL;
	switch (rec->vartype)
	{
		case PGC_BOOL:
			return ((struct config_bool *) rec)->boot_val ? "on" : "off";
		case PGC_INT:
			return WithUnit(rec->flags, ((struct config_int *) rec)->boot_val, true);
		case PGC_REAL:
			return WithUnit(rec->flags, ((struct config_real *) rec)->boot_val, false);
		case PGC_STRING:
			return ((struct config_string *) rec)->boot_val;
		case PGC_ENUM:
			return config_enum_lookup_by_value((struct config_enum *) rec,
											   ((struct config_enum *) rec)->boot_val);
	}
	return NULL;
}

/*
 * The value a new session of the check's owner in this database would see,
 * never this session's own SET, set_config() or startup options.  In
 * PostgreSQL's order of precedence:
 *   1. ALTER ROLE owner IN DATABASE this, ALTER ROLE owner, ALTER DATABASE
 *      this, ALTER ROLE ALL ... SET (pg_db_role_setting, read at each run,
 *      so a long-lived session such as the worker sees a change at once);
 *   2. the server's value: postgresql.conf, ALTER SYSTEM (after a reload),
 *      the command line, or the built-in default.  This session's reset
 *      value is that value when the session did not get its own from a
 *      role, a database or its startup options (reset_source at most
 *      PGC_S_ARGV): a SET changes the current value, never the reset value,
 *      and a reload updates the reset value.  Otherwise the configuration
 *      files are read (then a setting only on the command line is missed,
 *      and an edit not yet reloaded is seen).
 * A setting unknown to this session is unset unless step 1 sets it.
 */
static NewSessionValue
NewSessionValueOf(const char *name, Oid owner, struct config_generic *rec)
{
	NewSessionValue nv = {NULL, "server"};

	if (RoleDatabaseValue(name, owner, &nv))
		return nv;
	if (rec == NULL)
	{
		nv.source = "undefined";
		return nv;
	}
	if (rec->context <= PGC_SIGHUP || rec->source <= PGC_S_ARGV)
		/* the session cannot have its own value of it, or has none */
		nv.value = GetConfigOptionByName(rec->name, NULL, false);
	else if (rec->reset_source <= PGC_S_ARGV)
		nv.value = ResetValue(rec);
	else
	{
		nv.value = FileValue(rec->name);
		nv.source = "configuration file";
		if (nv.value == NULL)
		{
			/* not in the files: the built-in default (a placeholder has none) */
			nv.source = "default";
			nv.value = BootValue(rec);
		}
	}
	return nv;
}

/* Do two texts denote the same value of this setting (on/true, 8MB/8192kB)? */
static bool
SameValue(struct config_generic *rec, const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return true;
	if (rec == NULL)
		return false;
	switch (rec->vartype)
	{
		case PGC_BOOL:
			{
				bool		x,
							y;

				return parse_bool(a, &x) && parse_bool(b, &y) && x == y;
			}
		case PGC_INT:
			{
				int			x,
							y;

				return parse_int(a, &x, rec->flags, NULL) &&
					parse_int(b, &y, rec->flags, NULL) && x == y;
			}
		case PGC_REAL:
			{
				double		x,
							y;

				return parse_real(a, &x, rec->flags, NULL) &&
					parse_real(b, &y, rec->flags, NULL) && x == y;
			}
		case PGC_ENUM:
			{
				int			x,
							y;

				return config_enum_lookup_by_name((struct config_enum *) rec, a, &x) &&
					config_enum_lookup_by_name((struct config_enum *) rec, b, &y) && x == y;
			}
		case PGC_STRING:
			break;
	}
	return false;
}

/*
 * Read the setting as a new session of the owner would get it and compare
 * it with the allowed values.  A setting only superusers and members of
 * pg_read_all_settings may read (GUC_SUPERUSER_ONLY: primary_conninfo,
 * data_directory, ...) is a secret: the check still judges it (its owner
 * may read it, or this is an error), but neither its value nor the allowed
 * values appear in the summary or the detail, whoever reads them.
 */
static void
setting_run(const SloCheck *check, SloOutcome *out)
{
	const char *name;
	int			nallowed;
	char	  **allowed;
	struct config_generic *rec;
	bool		secret;
	NewSessionValue nv;
	bool		ok = false;
	StringInfoData list;
	StringInfoData detail;

	SloRunParams(check);
	name = SloRunString(check, "name");
	allowed = SloRunNames(check, "allowed", &nallowed);

	/* the privileges SHOW needs, checked (as the owner) before anything is read */
	(void) GetConfigOptionByName(name, NULL, true);
	rec = FindSetting(name);
	secret = rec != NULL && (rec->flags & GUC_SUPERUSER_ONLY) != 0;
	nv = NewSessionValueOf(name, check->owner, rec);
	if (nv.value != NULL && nv.value[0] == '\0')
		nv.value = NULL;
	for (int i = 0; nv.value != NULL && i < nallowed && !ok; i++)
		ok = SameValue(rec, nv.value, allowed[i]);

	initStringInfo(&list);
	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"setting\": ");
	escape_json(&detail, name);
	if (secret)
		appendStringInfo(&detail, ", \"hidden\": true, \"allowed_count\": %d", nallowed);
	else
	{
		appendStringInfoString(&detail, ", \"allowed\": [");
		for (int i = 0; i < nallowed; i++)
		{
			appendStringInfo(&list, "%s%s", i ? ", " : "", Shown(allowed[i]));
			if (i > 0)
				appendStringInfoString(&detail, ", ");
			escape_json(&detail, allowed[i]);
		}
		appendStringInfoChar(&detail, ']');
	}
	appendStringInfoString(&detail, ", \"source\": ");
	escape_json(&detail, nv.value == NULL && strcmp(nv.source, "server") == 0 ? "unset" : nv.source);
	appendStringInfoChar(&detail, '}');
	SloOutcomeDetail(out, detail.data);

	if (secret)
	{
		const char *why = "only superusers and roles with pg_read_all_settings may read it";

		if (nv.value == NULL)
			SloOutcomeSet(out, SLO_FAIL, false, 0,
						  "%s is not set (its values are hidden: %s).", name, why);
		else if (ok)
			SloOutcomeSet(out, SLO_OK, false, 0,
						  "%s has one of the %d allowed values (the value is hidden: %s).",
						  name, nallowed, why);
		else
			SloOutcomeSet(out, SLO_FAIL, false, 0,
						  "%s is set to none of the %d allowed values (the value is hidden: %s).",
						  name, nallowed, why);
		return;
	}
	if (nv.value == NULL)
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "%s is not set; allowed: %s.", name, list.data);
	else if (ok)
		SloOutcomeSet(out, SLO_OK, false, 0, "%s is %s, which is allowed.",
					  name, Shown(nv.value));
	else
		SloOutcomeSet(out, SLO_FAIL, false, 0, "%s is %s; allowed: %s.",
					  name, Shown(nv.value), list.data);
}

const SloKind SloKindSetting = {
	.name = KIND_NAME,
	.description = "fails when a setting (custom ones like app.data_region included) is unset or not one of the allowed values",
	.params = params,
	.validate = setting_validate,
	.run = setting_run,
};
