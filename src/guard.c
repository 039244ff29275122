/*-------------------------------------------------------------------------
 * guard.c
 *	  Guards (issue 14): page at the commit of a breaking migration, or refuse
 *	  it.
 *
 *	  A table_exists, columns_exist or function_exists check whose params say
 *	  "guard": true (or "block") is re-run by the event triggers
 *	  slo_guard_ddl_end (ddl_command_end) and slo_guard_sql_drop (sql_drop)
 *	  when a command touches what it watches, inside the command's own
 *	  transaction, through the run loop (SloRunCheckIds: sealed, as the
 *	  check's owner).  Its result, state and alert transition are written in
 *	  that transaction: the NOTIFY goes out when the migration commits, and
 *	  nothing at all if it rolls back.  In "block" mode a check that now fails
 *	  refuses the command (SQLSTATE SG001), which rolls the migration back.
 *
 *	  Finding the checks a command touched never scans every check: the
 *	  table slo_guard_watch holds, per guarded check, each watched name (last
 *	  part, as stored) and the OID (and schema OID) it resolved to when the
 *	  check was added, changed or last re-run by a guard.  The trigger
 *	  slo_check_guard_watch keeps it in step with slo_check; a guard re-run
 *	  refreshes the OIDs of the checks it ran.  A command's objects are matched
 *	  through indexes:
 *	    - by name: a DROP (sql_drop gives the dropped object's name) or a
 *	      CREATE / rename onto a watched name (ddl_command_end gives the OID,
 *	      whose current name we read);
 *	    - by OID: a rename away from a watched name (its old name is gone when
 *	      ddl_command_end fires), ALTER TABLE ... DROP / RENAME COLUMN, SET
 *	      SCHEMA, ALTER FUNCTION ... RENAME;
 *	    - by schema OID: DROP SCHEMA, ALTER SCHEMA ... RENAME.
 *	  Unrelated DDL usually costs only a look at the command's objects against
 *	  a backend-local copy of the watched names and OIDs (WatchCacheMayMatch);
 *	  a possible match runs one indexed lookup query.  Matching is
 *	  on the safe side: a command on another object of the same name (another
 *	  schema) re-runs the check, which then still passes.
 *
 *	  Never fires inside slo_guard's own install and upgrade scripts, nor on
 *	  DROP EXTENSION slo_guard (the extension is gone when sql_drop fires), nor
 *	  on a hot standby.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/cmdtag.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "extension.h"
#include "guard.h"
#include "kind.h"
#include "params.h"
#include "run.h"

typedef enum SloGuardMode
{
	SLO_GUARD_OFF,
	SLO_GUARD_ON,
	SLO_GUARD_BLOCK
} SloGuardMode;

/* A guarded check a command touched. */
typedef struct GuardHit
{
	int64		id;
	char	   *name;
	char	   *kind;
	Jsonb	   *params;
	char	   *search_path;
	char	   *object;			/* identity of one touched object it watches */
	bool		block;
} GuardHit;

/* The mode a check's params ask for; only kinds with can_guard (kind.h) have guards. */
static SloGuardMode
GuardMode(const char *kind, Jsonb *params)
{
	JsonbValue *v;
	const SloKind *k = kind ? SloFindKind(kind) : NULL;

	if (k == NULL || !k->can_guard || params == NULL)
		return SLO_GUARD_OFF;
	if (!JB_ROOT_IS_OBJECT(params))
		return SLO_GUARD_OFF;
	v = getKeyJsonValueFromContainer(&params->root, "guard", 5, NULL);
	if (v == NULL)
		return SLO_GUARD_OFF;
	if (v->type == jbvBool)
		return v->val.boolean ? SLO_GUARD_ON : SLO_GUARD_OFF;
	if (v->type == jbvString && v->val.string.len == 5 &&
		memcmp(v->val.string.val, "block", 5) == 0)
		return SLO_GUARD_BLOCK;
	return SLO_GUARD_OFF;
}

/* ---- the watch index ---- */

static void
AddWatchRow(const SloExtension *ext, int64 check_id, const char *objname, Oid objid, Oid nspid)
{
	Oid			types[4] = {INT8OID, TEXTOID, OIDOID, OIDOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *sql = psprintf("INSERT INTO %s.slo_guard_watch (check_id, objname, objid, nspid) "
							   "VALUES ($1, $2, $3, $4)", ext->nspname);

	values[0] = Int64GetDatum(check_id);
	values[1] = CStringGetTextDatum(objname);
	values[2] = ObjectIdGetDatum(objid);
	values[3] = ObjectIdGetDatum(nspid);
	if (!OidIsValid(objid))
		nulls[2] = nulls[3] = 'n';
	if (SPI_execute_with_args(sql, 4, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not write slo_guard_watch");
}

/* Watch rows of one relation name: the name, and the relation it resolves to. */
static void
WatchRelation(const SloExtension *ext, int64 check_id, const char *name)
{
	List	   *l = SloParseQualifiedName(name);
	Oid			relid;

	if (l == NIL || list_length(l) > 2)
		return;
	relid = SloLookupRelation(name, NoLock);
	AddWatchRow(ext, check_id, strVal(llast(l)), relid,
				OidIsValid(relid) ? get_rel_namespace(relid) : InvalidOid);
}

/* Watch rows of one function name or signature: every overload of the name. */
static void
WatchFunction(const SloExtension *ext, int64 check_id, const char *spec)
{
	const char *paren = strchr(spec, '(');
	char	   *name = paren ? pnstrdup(spec, paren - spec) : pstrdup(spec);
	List	   *l = SloParseQualifiedName(name);
	FuncCandidateList c;
	bool		any = false;

	if (l == NIL || list_length(l) > 2)
		return;
	for (c = FuncnameGetCandidates(l, -1, NIL, false, false, false, true); c; c = c->next)
	{
		AddWatchRow(ext, check_id, strVal(llast(l)), c->oid, get_func_namespace(c->oid));
		any = true;
	}
	if (!any)
		AddWatchRow(ext, check_id, strVal(llast(l)), InvalidOid, InvalidOid);
}

/*
 * Rewrite the watch rows of one check from its kind, params and search_path.
 * Connected to SPI, inside bookkeeping.  Names resolve as the extension owner
 * with the check's search_path; the rows are an index for matching DDL, the
 * check itself still runs as its owner.
 */
static void
SyncWatch(const SloExtension *ext, int64 check_id, const char *kind, Jsonb *params,
		  const char *search_path)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	int			nest;

	values[0] = Int64GetDatum(check_id);
	if (SPI_execute_with_args(psprintf("DELETE FROM %s.slo_guard_watch WHERE check_id = $1",
									   ext->nspname),
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not update slo_guard_watch");
	if (GuardMode(kind, params) == SLO_GUARD_OFF)
		return;

	nest = SloPushSearchPath(search_path && search_path[0] ? search_path : "pg_catalog");
	if (strcmp(kind, "columns_exist") == 0)
	{
		const char *table = SloParamString(params, "table", NULL);

		if (table)
			WatchRelation(ext, check_id, table);
	}
	else
	{
		bool		funcs = strcmp(kind, "function_exists") == 0;
		int			n;
		char	  **names = SloParamStringArray(params, funcs ? "functions" : "tables", &n);

		for (int i = 0; i < n; i++)
		{
			if (funcs)
				WatchFunction(ext, check_id, names[i]);
			else
				WatchRelation(ext, check_id, names[i]);
		}
	}
	AtEOXact_GUC(true, nest);
	/* every backend's copy of the watch index (see WatchCacheMayMatch) is stale now */
	{
		Oid			relid = get_relname_relid("slo_guard_watch", ext->nspoid);

		if (OidIsValid(relid))
			CacheInvalidateRelcacheByRelid(relid);
	}
}

PG_FUNCTION_INFO_V1(slo_guard_watch_sync);

/*
 * AFTER INSERT OR UPDATE OF kind, params, search_path ON slo_check: keep the
 * check's watch rows (DELETE cascades).  Also runs when a restore copies the
 * checks back, which rebuilds slo_guard_watch (it is not dumped).
 */
Datum
slo_guard_watch_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	SloExtension ext;
	SloBookkeeping bk;
	bool		isnull;
	Datum		d;
	int64		id;
	char	   *kind;
	Jsonb	   *params;
	char	   *search_path = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("slo_guard_watch_sync() must be called as an AFTER ROW trigger on slo_check")));
	if (!SloFindExtension(&ext) || !ext.version_ok)
		return PointerGetDatum(NULL);

	tup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	d = heap_getattr(tup, SPI_fnumber(desc, "id"), desc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	id = DatumGetInt64(d);
	d = heap_getattr(tup, SPI_fnumber(desc, "kind"), desc, &isnull);
	kind = isnull ? NULL : TextDatumGetCString(d);
	d = heap_getattr(tup, SPI_fnumber(desc, "params"), desc, &isnull);
	params = isnull ? NULL : DatumGetJsonbP(d);
	d = heap_getattr(tup, SPI_fnumber(desc, "search_path"), desc, &isnull);
	if (!isnull)
		search_path = TextDatumGetCString(d);

	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	SyncWatch(&ext, id, kind, params, search_path);
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	return PointerGetDatum(NULL);
}

/* ---- the event trigger ---- */

/*
 * The guarded, enabled checks whose watch rows match an object of the command
 * (see the file header).  c is the command's objects with, for relations and
 * functions, their name (current name at ddl_command_end, the dropped one at
 * sql_drop).  Columns dropped by ALTER TABLE are left to ddl_command_end,
 * which names the table, so one command re-runs a check once.
 */
#define GUARD_MATCH_SQL \
	"SELECT DISTINCT ON (k.id) k.id, k.name, k.kind, k.params, k.search_path, c.object_identity " \
	"FROM c JOIN %s.slo_guard_watch w " \
	"  ON (w.objid = c.objid AND c.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass, " \
	"                                          'pg_catalog.pg_proc'::pg_catalog.regclass)) " \
	"  OR (w.nspid = c.objid AND c.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass) " \
	"  OR (w.objname = c.name) " \
	"JOIN %s.slo_check k ON k.id = w.check_id " \
	"WHERE k.enabled " \
	"ORDER BY k.id, c.object_identity"

static const char *const guard_end_sql =
"WITH c AS ("
"  SELECT d.classid, d.objid, d.object_identity,"
"         CASE d.classid"
"           WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN"
"             (SELECT r.relname::text FROM pg_catalog.pg_class r WHERE r.oid = d.objid)"
"           WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN"
"             (SELECT p.proname::text FROM pg_catalog.pg_proc p WHERE p.oid = d.objid)"
"         END AS name"
"  FROM pg_catalog.pg_event_trigger_ddl_commands() d"
"  WHERE d.classid IS NOT NULL) "
GUARD_MATCH_SQL;

static const char *const guard_drop_sql =
"WITH c AS ("
"  SELECT d.classid, d.objid, d.object_identity,"
"         CASE d.classid"
"           WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN d.object_name"
"           WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN"
"             d.address_names[pg_catalog.array_upper(d.address_names, 1)]"
"         END AS name"
"  FROM pg_catalog.pg_event_trigger_dropped_objects() d"
"  WHERE d.objsubid = 0 AND NOT d.is_temporary) "
GUARD_MATCH_SQL;

/* Plans kept for the backend, for the extension (schema) they were made for. */
static SPIPlanPtr end_plan = NULL;
static SPIPlanPtr drop_plan = NULL;
static Oid	plans_extoid = InvalidOid;
static Oid	plans_nspoid = InvalidOid;

static SPIPlanPtr
GuardPlan(const SloExtension *ext, bool drop)
{
	SPIPlanPtr *slot;

	if (plans_extoid != ext->extoid || plans_nspoid != ext->nspoid)
	{
		if (end_plan)
			SPI_freeplan(end_plan);
		if (drop_plan)
			SPI_freeplan(drop_plan);
		end_plan = drop_plan = NULL;
		plans_extoid = ext->extoid;
		plans_nspoid = ext->nspoid;
	}
	slot = drop ? &drop_plan : &end_plan;
	if (*slot == NULL)
	{
		char	   *sql = psprintf(drop ? guard_drop_sql : guard_end_sql,
								   ext->nspname, ext->nspname);
		SPIPlanPtr	p = SPI_prepare(sql, 0, NULL);

		if (p == NULL)
			elog(ERROR, "slo_guard: guard query did not prepare: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "slo_guard: SPI_keepplan failed");
		*slot = p;
	}
	return *slot;
}

/* Read the matches into cxt; connected to SPI. */
static GuardHit *
FindHits(const SloExtension *ext, bool drop, MemoryContext cxt, int *n_out)
{
	GuardHit   *hits;
	int			n;

	/* not read_only: a fresh snapshot sees the names this command just gave */
	if (SPI_execute_plan(GuardPlan(ext, drop), NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not look up guarded checks");
	n = (int) SPI_processed;
	hits = MemoryContextAllocZero(cxt, sizeof(GuardHit) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		bool		isnull;
		Datum		d;

		hits[i].id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		hits[i].name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		hits[i].kind = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		hits[i].params = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		d = SPI_getbinval(tup, desc, 5, &isnull);
		hits[i].search_path = isnull ? NULL : TextDatumGetCString(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		hits[i].object = isnull ? pstrdup("?") : TextDatumGetCString(d);
		hits[i].block = GuardMode(hits[i].kind, hits[i].params) == SLO_GUARD_BLOCK;
		MemoryContextSwitchTo(old);
	}
	*n_out = n;
	return hits;
}

/*
 * ---- the fast path: a backend-local copy of slo_guard_watch ----
 *
 * Most DDL touches nothing guarded.  Before the lookup query, the command's
 * objects (one small query on the event trigger's own function) are checked
 * against the watched names and OIDs held in this backend; only a possible
 * match runs the lookup.  The copy is reloaded after a relcache invalidation
 * of slo_guard_watch, which SyncWatch sends whenever it writes watch rows
 * (delivered to every backend at commit, and to this one at once).  Rows
 * removed (a dropped check) only leave extra names: a lookup for nothing.
 */
static HTAB *watch_names = NULL;	/* char[NAMEDATALEN] */
static HTAB *watch_oids = NULL;		/* Oid: objid and nspid */
static bool watch_valid = false;
static Oid	watch_relid = InvalidOid;
static bool watch_callback = false;
static SPIPlanPtr end_objs_plan = NULL;
static SPIPlanPtr drop_objs_plan = NULL;

static void WatchCacheFill(const SloExtension *ext);

static void
WatchCacheInval(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == watch_relid)
		watch_valid = false;
}

/* Reload the copy; false if it cannot be had (then always run the lookup). */
static bool
WatchCacheLoad(const SloExtension *ext)
{
	HASHCTL		ctl;

	if (!watch_callback)
	{
		CacheRegisterRelcacheCallback(WatchCacheInval, (Datum) 0);
		watch_callback = true;
	}
	watch_relid = get_relname_relid("slo_guard_watch", ext->nspoid);
	if (!OidIsValid(watch_relid))
		return false;
	if (watch_names)
		hash_destroy(watch_names);
	if (watch_oids)
		hash_destroy(watch_oids);
	watch_names = watch_oids = NULL;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = NAMEDATALEN;
	watch_names = hash_create("slo_guard watched names", 64, &ctl, HASH_ELEM | HASH_STRINGS);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(Oid);
	watch_oids = hash_create("slo_guard watched oids", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	/* an invalidation that arrives while we read makes the next command reload */
	watch_valid = true;
	PG_TRY();
	{
		WatchCacheFill(ext);
	}
	PG_CATCH();
	{
		watch_valid = false;	/* never use a half-filled copy */
		PG_RE_THROW();
	}
	PG_END_TRY();
	return true;
}

static void
WatchCacheFill(const SloExtension *ext)
{
	if (SPI_execute(psprintf("SELECT objname, objid, nspid FROM %s.slo_guard_watch", ext->nspname),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read slo_guard_watch");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		char		key[NAMEDATALEN];

		d = SPI_getbinval(tup, desc, 1, &isnull);
		if (!isnull)
		{
			strlcpy(key, TextDatumGetCString(d), NAMEDATALEN);
			(void) hash_search(watch_names, key, HASH_ENTER, NULL);
		}
		for (int col = 2; col <= 3; col++)
		{
			Oid			oid;

			d = SPI_getbinval(tup, desc, col, &isnull);
			if (isnull)
				continue;
			oid = DatumGetObjectId(d);
			(void) hash_search(watch_oids, &oid, HASH_ENTER, NULL);
		}
	}
}

static SPIPlanPtr
KeptPlan(SPIPlanPtr *slot, const char *sql)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, 0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "slo_guard: guard query did not prepare");
		*slot = p;
	}
	return *slot;
}

/* Could any object of this command be one a guarded check watches? */
static bool
WatchCacheMayMatch(const SloExtension *ext, bool drop)
{
	if ((!watch_valid || watch_relid != get_relname_relid("slo_guard_watch", ext->nspoid)) &&
		!WatchCacheLoad(ext))
		return true;
	if (hash_get_num_entries(watch_names) == 0 && hash_get_num_entries(watch_oids) == 0)
		return false;
	if (SPI_execute_plan(drop ?
						 KeptPlan(&drop_objs_plan,
								  "SELECT d.classid, d.objid, "
								  "       CASE d.classid"
								  "         WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN d.object_name"
								  "         WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN"
								  "           d.address_names[pg_catalog.array_upper(d.address_names, 1)]"
								  "       END "
								  "FROM pg_catalog.pg_event_trigger_dropped_objects() d "
								  "WHERE d.objsubid = 0 AND NOT d.is_temporary") :
						 KeptPlan(&end_objs_plan,
								  "SELECT d.classid, d.objid, NULL::text "
								  "FROM pg_catalog.pg_event_trigger_ddl_commands() d "
								  "WHERE d.classid IS NOT NULL"),
						 NULL, NULL, true, 0) != SPI_OK_SELECT)
		return true;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		Oid			objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		Datum		d;
		char	   *name = NULL;
		char		key[NAMEDATALEN];

		if (classid != RelationRelationId && classid != ProcedureRelationId &&
			classid != NamespaceRelationId)
			continue;
		if (hash_search(watch_oids, &objid, HASH_FIND, NULL) != NULL)
			return true;
		if (classid == NamespaceRelationId)
			continue;
		d = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
			name = TextDatumGetCString(d);
		else if (!drop)
			name = classid == RelationRelationId ? get_rel_name(objid) : get_func_name(objid);
		if (name == NULL)
			continue;
		strlcpy(key, name, NAMEDATALEN);
		if (hash_search(watch_names, key, HASH_FIND, NULL) != NULL)
			return true;
	}
	return false;
}

/* slo_guard's own install or upgrade script is running. */
static bool
InOwnScript(void)
{
	return creating_extension &&
		CurrentExtensionObject == get_extension_oid(SLO_EXTENSION_NAME, true);
}

PG_FUNCTION_INFO_V1(slo_guard_ddl);

/* Event trigger function of slo_guard_ddl_end and slo_guard_sql_drop. */
Datum
slo_guard_ddl(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	bool		drop;
	SloExtension ext;
	SloBookkeeping bk;
	MemoryContext cxt;
	MemoryContext oldcxt;
	GuardHit   *hits;
	int			nhits;
	int64	   *ids;
	Oid			rowtype;
	TupleDesc	desc;
	Tuplestorestate *results;
	TupleTableSlot *slot;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("slo_guard_ddl() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	drop = strcmp(trigdata->event, "sql_drop") == 0;

	if (RecoveryInProgress() || InOwnScript())
		PG_RETURN_VOID();
	/* gone when DROP EXTENSION slo_guard fires sql_drop; a 1.0 schema has no guards */
	if (!SloFindExtension(&ext) || !ext.version_ok)
		PG_RETURN_VOID();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "slo_guard guard",
								ALLOCSET_SMALL_SIZES);
	SloEnterBookkeeping(&ext, &bk);
	/*
	 * The planner sees a set-returning function (1,000 rows estimated) joined
	 * to the watch index: costly enough for JIT, which would then compile the
	 * query at every DDL command (tens of ms).  Rolled back with the
	 * bookkeeping's GUC nest level.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	nhits = 0;
	hits = NULL;
	if (WatchCacheMayMatch(&ext, drop))
		hits = FindHits(&ext, drop, cxt, &nhits);
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	if (nhits == 0)
	{
		MemoryContextDelete(cxt);
		PG_RETURN_VOID();
	}

	/* re-run them here, in the command's transaction, as their owners */
	oldcxt = MemoryContextSwitchTo(cxt);
	ids = palloc(sizeof(int64) * nhits);
	for (int i = 0; i < nhits; i++)
		ids[i] = hits[i].id;
	rowtype = get_rel_type_id(get_relname_relid("slo_result", ext.nspoid));
	if (!OidIsValid(rowtype))
		elog(ERROR, "slo_guard: table slo_result is missing");
	desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	results = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(oldcxt);

	SloRunCheckIds(&ext, ids, nhits, results, desc);

	/* "block": a check that now fails refuses the command */
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(results, true, false, slot))
	{
		bool		isnull;
		int64		id = DatumGetInt64(slot_getattr(slot, 2, &isnull));
		char	   *status = TextDatumGetCString(slot_getattr(slot, 5, &isnull));
		Datum		sd = slot_getattr(slot, 7, &isnull);
		char	   *summary = isnull ? "" : TextDatumGetCString(sd);

		for (int i = 0; i < nhits; i++)
		{
			if (hits[i].id != id || !hits[i].block || strcmp(status, "fail") != 0)
				continue;
			ereport(ERROR,
					(errcode(SLO_ERRCODE_GUARD_BLOCKED),
					 errmsg("guarded check \"%s\" refuses %s on %s",
							hits[i].name, GetCommandTagName(trigdata->tag), hits[i].object),
					 errdetail("After this command the check fails: %s", summary),
					 errhint("The check has \"guard\": \"block\". To make this change, drop the check "
							 "(slo_drop_check) or alter it (slo_alter_check, params without \"guard\": \"block\") first.")));
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(results);

	/* the OIDs the watched names resolve to now (a rename, a drop, a create) */
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	for (int i = 0; i < nhits; i++)
		SyncWatch(&ext, hits[i].id, hits[i].kind, hits[i].params, hits[i].search_path);
	SPI_finish();
	SloLeaveBookkeeping(&bk);

	MemoryContextDelete(cxt);
	PG_RETURN_VOID();
}
