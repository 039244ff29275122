/*-------------------------------------------------------------------------
 * migration.c
 *	  Check kind "migration": is the schema at the migration the application
 *	  expects, and does the migration tool's own table record a failed or
 *	  dirty migration?
 *
 *	  Each tool's table is read with that tool's semantics:
 *
 *	    alembic         alembic_version(version_num): one row per head.
 *	    supabase        supabase_migrations.schema_migrations(version):
 *	                    current = greatest version.
 *	    flyway          flyway_schema_history: rows with success = false are
 *	                    failed migrations; current = version of the successful
 *	                    row with the highest installed_rank.
 *	    django          django_migrations(id, app, name): current = "app.name"
 *	                    of the latest row by id; an expect of the form
 *	                    "app.name" is compared with that app's latest row,
 *	                    a bare "name" with the latest row's name.
 *	    prisma          _prisma_migrations: rows neither finished nor rolled
 *	                    back are failed (or still running) migrations; rolled
 *	                    back rows are ignored; current = greatest
 *	                    migration_name of the finished rows (names start with
 *	                    a timestamp, so this is the newest migration, as
 *	                    "prisma migrate" orders them).
 *	    golang-migrate  schema_migrations(version, dirty): dirty = true is a
 *	                    failed migration; current = version.
 *	    rails           schema_migrations(version): current = greatest version.
 *
 *	  Versions made of digits only compare as numbers (supabase, rails,
 *	  golang-migrate), other versions byte by byte.
 *
 *	  Alembic keeps one row per head.  Several rows are a branched history,
 *	  which alembic itself accepts, so without expect they are ok.  With
 *	  expect, the heads must be exactly the revisions listed in expect (comma
 *	  separated, any order): "expect": "ab12" fails while a second branch is
 *	  applied too, "expect": "ab12, cd34" accepts both heads.
 *
 *	  When tool is absent it is detected from the table's columns (and, for
 *	  schema_migrations, its schema).  A missing or empty table is a failure,
 *	  not an error.  A table that lacks a column its tool needs is an error:
 *	  the check cannot tell what state the migrations are in.
 *
 *	  Results hold version strings only, never other row content.
 *	  value: the number of failed/dirty migrations when there are any, else
 *	  none.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "kind.h"

#define KIND_NAME "migration"

typedef enum MigrationTool
{
	TOOL_ALEMBIC,
	TOOL_SUPABASE,
	TOOL_FLYWAY,
	TOOL_DJANGO,
	TOOL_PRISMA,
	TOOL_GOLANG_MIGRATE,
	TOOL_RAILS,
	TOOL_UNKNOWN
} MigrationTool;

/* How the current version is compared with expect. */
typedef enum VersionMatch
{
	MATCH_EXACT,				/* byte-wise equality */
	MATCH_NUMERIC,				/* digit strings compare as numbers */
	MATCH_HEADS,				/* alembic: set of heads equals set in expect */
	MATCH_DJANGO				/* "app.name", or "name" alone */
} VersionMatch;

/* What a tool's reader found in its table. */
typedef struct MigrationState
{
	int64		rows;			/* rows in the table */
	int			ncurrent;		/* number of current versions (heads) */
	char	  **current;		/* current version(s), sorted */
	int64		failed;			/* failed, dirty or unfinished migrations */
	char	   *failed_version; /* the newest of them, if it has a version */
	bool		app_missing;	/* django: expect's app has no migration */
} MigrationState;

typedef struct MigrationToolInfo
{
	const char *name;
	const char *const *columns; /* columns the reader needs */
	VersionMatch match;
	void		(*read) (const char *qualname, const char *expect,
						 MigrationState *st);
} MigrationToolInfo;

static const SloParam params[] = {
	{"table", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"expect", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"tool", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

/* Digit strings compare as numbers, anything else byte by byte. */
static int
VersionCmp(const char *a, const char *b)
{
	size_t		la,
				lb;

	if (strspn(a, "0123456789") != strlen(a) || strspn(b, "0123456789") != strlen(b) ||
		*a == '\0' || *b == '\0')
		return strcmp(a, b);
	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* qsort comparator for the heads of alembic. */
static int
StrPtrCmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Run a read-only query that must succeed as a SELECT. */
static void
RunQuery(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	int			ret;

	if (nargs > 0)
		ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, true, 0);
	else
		ret = SPI_execute(sql, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "migration check query failed: %s", SPI_result_code_string(ret));
}

/* Text of a result column (NULL for SQL NULL). */
static char *
ResultText(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* A result column that holds a count. */
static int64
ResultInt64(int row, int col)
{
	char	   *s = ResultText(row, col);

	return s ? pg_strtoint64(s) : 0;
}

/* The greatest version in column 1 of the result (NULLs skipped). */
static char *
MaxVersion(void)
{
	char	   *best = NULL;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *v = ResultText(i, 1);

		if (v != NULL && (best == NULL || VersionCmp(v, best) > 0))
			best = v;
	}
	return best;
}

/* Set the single current version (NULL means none). */
static void
SetCurrent(MigrationState *st, char *version)
{
	st->ncurrent = version ? 1 : 0;
	st->current = palloc(sizeof(char *));
	st->current[0] = version;
}

/* alembic: every row is a head. */
static void
ReadAlembic(const char *qualname, const char *expect, MigrationState *st)
{
	int			n = 0;

	RunQuery(psprintf("SELECT version_num::text FROM %s", qualname), 0, NULL, NULL);
	st->rows = SPI_processed;
	st->current = palloc(sizeof(char *) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *v = ResultText(i, 1);

		if (v != NULL)
			st->current[n++] = v;
	}
	st->ncurrent = n;
	qsort(st->current, n, sizeof(char *), StrPtrCmp);
}

/* supabase and rails: the greatest version is current. */
static void
ReadMaxVersion(const char *qualname, const char *expect, MigrationState *st)
{
	RunQuery(psprintf("SELECT version::text FROM %s", qualname), 0, NULL, NULL);
	st->rows = SPI_processed;
	SetCurrent(st, MaxVersion());
}

/* golang-migrate: one row (version, dirty). */
static void
ReadGolangMigrate(const char *qualname, const char *expect, MigrationState *st)
{
	RunQuery(psprintf("SELECT version::text FROM %s WHERE dirty ORDER BY version DESC",
					  qualname), 0, NULL, NULL);
	st->failed = SPI_processed;
	if (SPI_processed > 0)
		st->failed_version = ResultText(0, 1);
	RunQuery(psprintf("SELECT version::text FROM %s", qualname), 0, NULL, NULL);
	st->rows = SPI_processed;
	SetCurrent(st, MaxVersion());
}

/* flyway: failures are success = false; current by installed_rank. */
static void
ReadFlyway(const char *qualname, const char *expect, MigrationState *st)
{
	RunQuery(psprintf("SELECT (SELECT count(*) FROM %s),"
					  " (SELECT count(*) FROM %s WHERE NOT success),"
					  " (SELECT version::text FROM %s WHERE NOT success"
					  "   ORDER BY installed_rank DESC LIMIT 1),"
					  " (SELECT version::text FROM %s WHERE success AND version IS NOT NULL"
					  "   ORDER BY installed_rank DESC LIMIT 1)",
					  qualname, qualname, qualname, qualname), 0, NULL, NULL);
	st->rows = ResultInt64(0, 1);
	st->failed = ResultInt64(0, 2);
	st->failed_version = ResultText(0, 3);
	SetCurrent(st, ResultText(0, 4));
}

/* django: latest row by id, of expect's app when expect names one. */
static void
ReadDjango(const char *qualname, const char *expect, MigrationState *st)
{
	const char *dot = expect ? strchr(expect, '.') : NULL;

	RunQuery(psprintf("SELECT count(*) FROM %s", qualname), 0, NULL, NULL);
	st->rows = ResultInt64(0, 1);
	if (dot != NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		values[1];

		values[0] = CStringGetTextDatum(pnstrdup(expect, dot - expect));
		RunQuery(psprintf("SELECT app::text || '.' || name::text FROM %s"
						  " WHERE app::text = $1 ORDER BY id DESC LIMIT 1", qualname),
				 1, argtypes, values);
		st->app_missing = (SPI_processed == 0 && st->rows > 0);
	}
	else
		RunQuery(psprintf("SELECT app::text || '.' || name::text FROM %s"
						  " ORDER BY id DESC LIMIT 1", qualname), 0, NULL, NULL);
	SetCurrent(st, SPI_processed > 0 ? ResultText(0, 1) : NULL);
}

/* prisma: unfinished rows fail, rolled back rows are ignored. */
static void
ReadPrisma(const char *qualname, const char *expect, MigrationState *st)
{
	RunQuery(psprintf("SELECT count(*),"
					  " count(*) FILTER (WHERE finished_at IS NULL AND rolled_back_at IS NULL),"
					  " max(migration_name::text COLLATE \"C\")"
					  "   FILTER (WHERE finished_at IS NULL AND rolled_back_at IS NULL),"
					  " max(migration_name::text COLLATE \"C\")"
					  "   FILTER (WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL)"
					  " FROM %s", qualname), 0, NULL, NULL);
	st->rows = ResultInt64(0, 1);
	st->failed = ResultInt64(0, 2);
	st->failed_version = ResultText(0, 3);
	SetCurrent(st, ResultText(0, 4));
}

static const char *const alembic_columns[] = {"version_num", NULL};
static const char *const version_columns[] = {"version", NULL};
static const char *const flyway_columns[] = {"installed_rank", "version", "success", NULL};
static const char *const django_columns[] = {"id", "app", "name", NULL};
static const char *const prisma_columns[] = {"migration_name", "finished_at", "rolled_back_at", NULL};
static const char *const golang_columns[] = {"version", "dirty", NULL};

/* Indexed by MigrationTool. */
static const MigrationToolInfo tools[] = {
	{"alembic", alembic_columns, MATCH_HEADS, ReadAlembic},
	{"supabase", version_columns, MATCH_NUMERIC, ReadMaxVersion},
	{"flyway", flyway_columns, MATCH_EXACT, ReadFlyway},
	{"django", django_columns, MATCH_DJANGO, ReadDjango},
	{"prisma", prisma_columns, MATCH_EXACT, ReadPrisma},
	{"golang-migrate", golang_columns, MATCH_NUMERIC, ReadGolangMigrate},
	{"rails", version_columns, MATCH_NUMERIC, ReadMaxVersion},
};

StaticAssertDecl(lengthof(tools) == TOOL_UNKNOWN, "one row per migration tool");

/* "alembic, supabase, ..." for messages. */
static char *
ToolList(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < TOOL_UNKNOWN; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", tools[i].name);
	return buf.data;
}

/* Tool by name, TOOL_UNKNOWN if there is none. */
static MigrationTool
FindTool(const char *name)
{
	for (int i = 0; i < TOOL_UNKNOWN; i++)
		if (strcmp(tools[i].name, name) == 0)
			return (MigrationTool) i;
	return TOOL_UNKNOWN;
}

/* Does relid have a (not dropped) column of this name? */
static bool
HasColumn(Oid relid, const char *column)
{
	return get_attnum(relid, column) != InvalidAttrNumber;
}

/* Guess the tool from the columns, and the schema for supabase. */
static MigrationTool
DetectTool(Oid relid)
{
	if (HasColumn(relid, "version_num"))
		return TOOL_ALEMBIC;
	if (HasColumn(relid, "installed_rank") && HasColumn(relid, "success"))
		return TOOL_FLYWAY;
	if (HasColumn(relid, "migration_name") && HasColumn(relid, "finished_at"))
		return TOOL_PRISMA;
	if (HasColumn(relid, "app") && HasColumn(relid, "name") && HasColumn(relid, "applied"))
		return TOOL_DJANGO;
	if (HasColumn(relid, "version"))
	{
		char	   *nsp = get_namespace_name(get_rel_namespace(relid));

		if (HasColumn(relid, "dirty"))
			return TOOL_GOLANG_MIGRATE;
		if ((nsp && strcmp(nsp, "supabase_migrations") == 0) ||
			HasColumn(relid, "statements"))
			return TOOL_SUPABASE;
		return TOOL_RAILS;
	}
	return TOOL_UNKNOWN;
}

/* Heads of alembic listed in expect ("a, b"), sorted; count in *n. */
static char **
ExpectedHeads(const char *expect, int *n)
{
	char	   *copy = pstrdup(expect);
	char	  **heads = palloc(sizeof(char *) * (strlen(expect) + 1));
	char	   *tok;
	char	   *save;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok != '\0')
			heads[(*n)++] = tok;
	}
	qsort(heads, *n, sizeof(char *), StrPtrCmp);
	return heads;
}

/* Does the current state match expect, with the tool's comparison? */
static bool
MatchesExpect(VersionMatch match, MigrationState *st, const char *expect)
{
	switch (match)
	{
		case MATCH_EXACT:
			return strcmp(st->current[0], expect) == 0;
		case MATCH_NUMERIC:
			return VersionCmp(st->current[0], expect) == 0;
		case MATCH_DJANGO:
			if (strchr(expect, '.') == NULL)
				return strcmp(strchr(st->current[0], '.') + 1, expect) == 0;
			return strcmp(st->current[0], expect) == 0;
		case MATCH_HEADS:
			{
				int			n;
				char	  **want = ExpectedHeads(expect, &n);

				if (n != st->ncurrent)
					return false;
				for (int i = 0; i < n; i++)
					if (strcmp(want[i], st->current[i]) != 0)
						return false;
				return true;
			}
	}
	return false;
}

/* "a, b" from the current versions, for summaries and detail. */
static char *
CurrentText(MigrationState *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < st->ncurrent; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", st->current[i]);
	return buf.data;
}

/* Detail JSON: tool, table, current, expect, failed (version strings only). */
static char *
DetailJson(MigrationTool tool, const char *table, MigrationState *st,
		   const char *expect)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"tool\": ");
	escape_json(&buf, tools[tool].name);
	appendStringInfoString(&buf, ", \"table\": ");
	escape_json(&buf, table);
	appendStringInfoString(&buf, ", \"current\": [");
	for (int i = 0; i < st->ncurrent; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, st->current[i]);
	}
	appendStringInfoString(&buf, "], \"expect\": ");
	if (expect)
		escape_json(&buf, expect);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"failed\": " INT64_FORMAT "}", st->failed);
	return buf.data;
}

/* Fill out from the state: failures first, then emptiness, then expect. */
static void
Judge(MigrationTool tool, const char *table, MigrationState *st,
	  const char *expect, SloOutcome *out)
{
	const char *failed_what;

	if (st->failed > 0)
	{
		if (tool == TOOL_GOLANG_MIGRATE)
			SloOutcomeSet(out, SLO_FAIL, true, (double) st->failed,
						  "%s: migration %s is dirty (it failed midway); fix the schema and force the version.",
						  table, st->failed_version ? st->failed_version : "?");
		else
		{
			failed_what = tool == TOOL_PRISMA ? "failed or unfinished" : "failed";
			if (st->failed == 1 && st->failed_version)
				SloOutcomeSet(out, SLO_FAIL, true, 1,
							  "%s records %s migration %s.",
							  table, failed_what, st->failed_version);
			else if (st->failed_version)
				SloOutcomeSet(out, SLO_FAIL, true, (double) st->failed,
							  "%s records " INT64_FORMAT " %s migrations, the newest %s.",
							  table, st->failed, failed_what, st->failed_version);
			else
				SloOutcomeSet(out, SLO_FAIL, true, (double) st->failed,
							  "%s records " INT64_FORMAT " %s migration%s.",
							  table, st->failed, failed_what, st->failed == 1 ? "" : "s");
		}
	}
	else if (st->rows == 0)
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "%s is empty: no migration has been applied.", table);
	else if (st->app_missing)
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "%s has no migration of app %s but %s is expected.",
					  table, pnstrdup(expect, strchr(expect, '.') - expect), expect);
	else if (st->ncurrent == 0)
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "%s has no applied migration.", table);
	else if (expect != NULL && !MatchesExpect(tools[tool].match, st, expect))
	{
		if (st->ncurrent > 1)
			SloOutcomeSet(out, SLO_FAIL, false, 0,
						  "%s has %d heads (%s) but %s is expected.",
						  table, st->ncurrent, CurrentText(st), expect);
		else
			SloOutcomeSet(out, SLO_FAIL, false, 0,
						  "%s is at %s but %s is expected.",
						  table, st->current[0], expect);
	}
	else if (st->ncurrent > 1)
		SloOutcomeSet(out, SLO_OK, false, 0, "%s has %d heads: %s%s.",
					  table, st->ncurrent, CurrentText(st),
					  expect ? ", as expected" : "");
	else
		SloOutcomeSet(out, SLO_OK, false, 0, "%s is at %s%s.",
					  table, st->current[0], expect ? ", as expected" : "");
	SloOutcomeDetail(out, DetailJson(tool, table, st, expect));
}

/* Refuse a table name that cannot be a relation name, and an unknown tool. */
static void
migration_validate(Jsonb *p)
{
	const char *table = SloParamString(p, "table", NULL);
	const char *tool = SloParamString(p, "tool", NULL);
	List	   *names = SloParseQualifiedName(table);

	if (names == NIL || list_length(names) > 2)
		SloParamError(KIND_NAME, "table", quote_literal_cstr(table),
					  "The value must be a table name or schema.table, quoted as in SQL where needed, such as \"alembic_version\" or \"supabase_migrations.schema_migrations\".");
	if (tool != NULL && FindTool(tool) == TOOL_UNKNOWN)
		SloParamError(KIND_NAME, "tool", quote_literal_cstr(tool),
					  psprintf("The tool must be one of %s; leave it out to detect it from the table.",
							   ToolList()));
}

/* A tool's reader, run through SloRunUserCode. */
typedef struct MigrationRead
{
	MigrationTool tool;
	const char *qualname;
	const char *expect;
	MigrationState *st;
} MigrationRead;

static void
ReadState(void *arg)
{
	MigrationRead *r = (MigrationRead *) arg;

	tools[r->tool].read(r->qualname, r->expect, r->st);
}

/* Resolve the table, pick the tool, read its state and judge it. */
static void
migration_run(const SloCheck *check, SloOutcome *out)
{
	const char *table;
	const char *expect;
	const char *toolname;
	List	   *names;
	Oid			relid;
	MigrationTool tool;
	char	   *qualname;
	MigrationState st = {0};

	SloRunParams(check);
	table = SloRunString(check, "table");
	expect = SloParamString(check->params, "expect", NULL);
	toolname = SloParamString(check->params, "tool", NULL);
	names = SloParseQualifiedName(table);
	if (names == NIL || list_length(names) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid table name \"%s\" in migration check", table)));
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
	{
		SloOutcomeSet(out, SLO_FAIL, false, 0,
					  "Migration table %s does not exist.", table);
		return;
	}

	if (toolname != NULL)
		tool = FindTool(toolname);
	else
		tool = DetectTool(relid);
	if (tool == TOOL_UNKNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table %s has none of the columns of a known migration tool's table", table),
				 errhint("Known tools are %s.", ToolList())));
	for (const char *const *col = tools[tool].columns; *col; col++)
		if (!HasColumn(relid, *col))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table %s has no column \"%s\", so it is not a %s migration table",
							table, *col, tools[tool].name),
					 errhint("Check the \"table\" and \"tool\" params of the check.")));

	qualname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										  get_rel_name(relid));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		/* a view or a column type's input function could raise with row content */
		MigrationRead r = {tool, qualname, expect, &st};

		SloRunUserCode(psprintf("reading migration table %s", table), ReadState, &r);
	}
	Judge(tool, table, &st, expect, out);
	SPI_finish();
}

const SloKind SloKindMigration = {
	.name = KIND_NAME,
	.description = "fails when a migration tool's table is missing or empty, is not at the expected version, or records a failed or dirty migration",
	.params = params,
	.validate = migration_validate,
	.run = migration_run,
};
