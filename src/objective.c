/*-------------------------------------------------------------------------
 * objective.c
 *	  Objectives (SLOs, issue 13).
 *
 *	  An objective measures the results of one check: a result is good when
 *	  its status is ok or warn (and, with good_below, its value is at or under
 *	  it).  Every result the run loop applies is counted, stored or not
 *	  (keep_ok_results) and however long it is kept (result_retention), into
 *	  slo_objective_minute and slo_objective_hour, in the transaction that
 *	  writes it: the counts are exact.  A window reads at most 60 minute rows
 *	  and then whole hours (slo_objective_counts in the SQL script).
 *
 *	  Each objective owns an internal check "objective:<name>" of kind
 *	  "objective", created and dropped with it, that runs every minute
 *	  through the normal run loop: it evaluates the multiwindow burn-rate
 *	  rule (slo_objective_eval) and fails with the severity of the rule that
 *	  pages (P1, P2, P3; SloOutcome.severity), so its alert goes through the
 *	  same path as any check's (slo_alert, events, NOTIFY) and moves between
 *	  severities (alert.c).  It also trims the rollups beyond the period.
 *
 *	  Ownership is the rule of checks (SloCheckOwnership).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "alert.h"
#include "kind.h"
#include "objective.h"

#define SLO_OBJECTIVE_PREFIX "objective:"
#define SLO_OBJECTIVE_NAME_MAX 190	/* + "objective:" fits a check name (200) */
#define SLO_OBJECTIVE_MAX_MIN_EVENTS 1000000

/* ---- the backend-local set of checks that have objectives ---- */

static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static Oid	cache_ext = InvalidOid;
static int64 *cache_ids = NULL;
static int	cache_n = 0;

/* Forget the set: the next result reloads it (after add/drop of an objective). */
static void
ResetCache(void)
{
	cache_lxid = InvalidLocalTransactionId;
}

static int
CompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Does check_id have an objective?  One query per transaction at most. */
static bool
CheckHasObjectives(const SloExtension *ext, int64 check_id)
{
	if (cache_lxid != MyProc->lxid || cache_ext != ext->extoid)
	{
		char	   *sql = psprintf("SELECT DISTINCT check_id FROM %s.slo_objective",
								   ext->nspname);

		/*
		 * Not read_only: a fresh snapshot, at least as new as the one that
		 * claimed the checks, so an objective committed with its check is
		 * never missed by a batch that started before that commit.
		 */
		if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "slo_guard: could not read objectives");
		if (cache_ids)
			pfree(cache_ids);
		cache_n = (int) SPI_processed;
		cache_ids = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(cache_n, 1));
		for (int i = 0; i < cache_n; i++)
		{
			bool		isnull;

			cache_ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1, &isnull));
		}
		qsort(cache_ids, cache_n, sizeof(int64), CompareInt64);
		cache_lxid = MyProc->lxid;
		cache_ext = ext->extoid;
	}
	if (cache_n == 0)
		return false;
	return bsearch(&check_id, cache_ids, cache_n, sizeof(int64), CompareInt64) != NULL;
}

void
SloObjectivesRecord(const SloExtension *ext, const SloCheck *check, const SloOutcome *out,
					TimestampTz at)
{
	Oid			types[5] = {INT8OID, TEXTOID, FLOAT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *sql;

	if (!CheckHasObjectives(ext, check->id))
		return;

	values[0] = Int64GetDatum(check->id);
	values[1] = CStringGetTextDatum(SloStatusName(out->status));
	values[2] = Float8GetDatum(out->value);
	if (!out->has_value || !isfinite(out->value))
		nulls[2] = 'n';
	/* TimestampTz counts microseconds from 2000-01-01 00:00 UTC: UTC minutes and hours */
	values[3] = TimestampTzGetDatum(at - at % USECS_PER_MINUTE);
	values[4] = TimestampTzGetDatum(at - at % USECS_PER_HOUR);

	/*
	 * FOR KEY SHARE: an objective dropped meanwhile is skipped (READ
	 * COMMITTED re-checks the row) instead of failing the foreign key.
	 */
	sql = psprintf("WITH o AS ("
				   "  SELECT id, ($2 IN ('ok', 'warn') AND (good_below IS NULL"
				   "             OR coalesce($3 <= good_below, false)))::int AS good"
				   "    FROM %s.slo_objective WHERE check_id = $1 FOR KEY SHARE),"
				   " m AS (INSERT INTO %s.slo_objective_minute AS r (objective_id, minute, good, total)"
				   "       SELECT id, $4, good, 1 FROM o"
				   "       ON CONFLICT (objective_id, minute)"
				   "       DO UPDATE SET good = r.good + excluded.good, total = r.total + 1) "
				   "INSERT INTO %s.slo_objective_hour AS r (objective_id, hour, good, total)"
				   " SELECT id, $5, good, 1 FROM o"
				   " ON CONFLICT (objective_id, hour)"
				   " DO UPDATE SET good = r.good + excluded.good, total = r.total + 1",
				   ext->nspname, ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not record objective rollups");
}

/* ---- keeping the internal checks internal ---- */

void
SloObjectiveRefuseKind(const char *kindname)
{
	if (kindname != NULL && strcmp(kindname, "objective") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check kind \"%s\" is internal", SloShownText(kindname)),
				 errdetail("Checks of kind \"objective\" are created with an objective and evaluate its burn rates."),
				 errhint("Use slo_add_objective() to add an objective.")));
}

void
SloObjectiveRefuseInternal(const char *checkname, const char *kindname)
{
	if ((kindname != NULL && strcmp(kindname, "objective") == 0) ||
		(checkname != NULL && strncmp(checkname, SLO_OBJECTIVE_PREFIX,
									  strlen(SLO_OBJECTIVE_PREFIX)) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("check \"%s\" belongs to an objective", SloShownText(checkname)),
				 errdetail("It evaluates the objective's burn rates and carries its alert."),
				 errhint("Use slo_alter_objective() or slo_drop_objective().")));
}

void
SloObjectivesRefuseDrop(const SloExtension *ext, int64 check_id, const char *name)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	char	   *sql;

	values[0] = Int64GetDatum(check_id);
	sql = psprintf("SELECT string_agg(quote_ident(name), ', ' ORDER BY name) "
				   "FROM %s.slo_objective WHERE check_id = $1", ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read objectives");
	if (SPI_processed == 1)
	{
		char	   *names = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (names != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("check \"%s\" is measured by objective %s", name, names),
					 errhint("Drop the objective first with slo_drop_objective().")));
	}
}

/* ---- validation ---- */

static void
ValidateObjectiveName(const char *name)
{
	if (name[0] == '\0' || strlen(name) > SLO_OBJECTIVE_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid objective name \"%s\"", SloShownText(name)),
				 errhint("An objective name is 1 to %d bytes long.", SLO_OBJECTIVE_NAME_MAX)));
	for (const char *c = name; *c; c++)
		if ((unsigned char) *c < ' ' || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid objective name \"%s\"", SloShownText(name)),
					 errhint("An objective name must not contain control characters.")));
}

static void
ValidateTarget(double target)
{
	if (isnan(target) || !(target > 0 && target < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"target\": %g", target),
				 errhint("The target is the share of good results, strictly between 0 and 1: 0.999 for 99.9 %%.")));
}

static void
ValidatePeriod(Interval *p)
{
	bool		month = (p->month == 1 && p->day == 0 && p->time == 0);
	int64		us = (int64) p->day * USECS_PER_DAY + p->time;

	if (month)
		return;
	if (p->month != 0 || us < USECS_PER_HOUR || us > 90 * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"period\": %s",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(p)))),
				 errhint("Use '1 month' for the current calendar month (UTC), or a rolling period from '1 hour' to '90 days' such as '30 days' or '7 days'.")));
}

static void
ValidateGoodBelow(double v)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"good_below\": %g", v),
				 errhint("good_below is a finite number: a good result has a value at or under it.")));
}

static void
ValidateMinEvents(int32 n)
{
	if (n < 1 || n > SLO_OBJECTIVE_MAX_MIN_EVENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"min_events\": %d", n),
				 errhint("min_events is from 1 to %d: the results a burn-rate window needs before it may page.",
						 SLO_OBJECTIVE_MAX_MIN_EVENTS)));
}

/* ---- slo_add_objective / slo_alter_objective / slo_drop_objective ---- */

PG_FUNCTION_INFO_V1(slo_add_objective);

/* slo_add_objective(name, check_name, target, period, good_below, min_events) */
Datum
slo_add_objective(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	char	   *check_name = SloRequiredText(fcinfo, 1, "check_name");
	double		target;
	Interval   *period;
	bool		has_good_below = !PG_ARGISNULL(4);
	double		good_below = has_good_below ? PG_GETARG_FLOAT8(4) : 0;
	int32		min_events;
	SloExtension ext;
	SloBookkeeping bk;
	Oid			owner = GetUserId();
	char	   *owner_name = GetUserNameFromId(owner, false);
	char	   *sql;
	Oid			types[10];
	Datum		values[10];
	char		nulls[10];
	int64		check_id;
	int64		internal_id;
	int64		id;
	char	   *kind;
	bool		isnull;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"target\" must not be null"),
				 errhint("The target is the share of good results, strictly between 0 and 1: 0.999 for 99.9 %%.")));
	if (PG_ARGISNULL(3) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments \"period\" and \"min_events\" must not be null"),
				 errhint("Leave an argument out to get its default.")));
	target = PG_GETARG_FLOAT8(2);
	period = PG_GETARG_INTERVAL_P(3);
	min_events = PG_GETARG_INT32(5);

	ValidateObjectiveName(name);
	ValidateTarget(target);
	ValidatePeriod(period);
	if (has_good_below)
		ValidateGoodBelow(good_below);
	ValidateMinEvents(min_events);

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	/* the measured check: FOR KEY SHARE keeps it from being dropped meanwhile */
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(check_name);
	sql = psprintf("SELECT id, kind FROM %s.slo_check WHERE name = $1 FOR KEY SHARE",
				   ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read check");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("check \"%s\" does not exist", SloShownText(check_name)),
				 errhint("An objective measures the results of an existing check: SELECT name FROM slo_status() lists them.")));
	check_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (kind != NULL && strcmp(kind, "objective") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"check_name\": \"%s\"", SloShownText(check_name)),
				 errdetail("That check evaluates another objective's burn rates."),
				 errhint("Name the check whose results the objective measures.")));

	/* the internal check that carries the burn-rate alert; params set below */
	memset(nulls, ' ', sizeof(nulls));
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(psprintf(SLO_OBJECTIVE_PREFIX "%s", name));
	types[1] = TEXTOID;
	values[1] = CStringGetTextDatum(name);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(check_name);
	types[3] = REGROLEOID;
	values[3] = ObjectIdGetDatum(owner);
	types[4] = TEXTOID;
	values[4] = CStringGetTextDatum(owner_name);
	sql = psprintf("INSERT INTO %s.slo_check "
				   "(name, kind, params, severity, every, fail_after, labels, owner, search_path, owner_name) "
				   "VALUES ($1, 'objective', '{\"objective_id\": 0}', 'P3', '1 minute', 1, "
				   "        jsonb_build_object('objective', $2, 'check', $3), $4, 'pg_catalog', $5) "
				   "ON CONFLICT (name) DO NOTHING RETURNING id", ext.nspname);
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "slo_guard: could not insert the objective's check");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("objective \"%s\" already exists", SloShownText(name)),
				 errhint("Use slo_alter_objective() to change it, or slo_drop_objective() first.")));
	internal_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(name);
	types[1] = INT8OID;
	values[1] = Int64GetDatum(check_id);
	types[2] = INT8OID;
	values[2] = Int64GetDatum(internal_id);
	types[3] = FLOAT8OID;
	values[3] = Float8GetDatum(target);
	types[4] = INTERVALOID;
	values[4] = IntervalPGetDatum(period);
	types[5] = FLOAT8OID;
	values[5] = Float8GetDatum(good_below);
	nulls[5] = has_good_below ? ' ' : 'n';
	types[6] = INT4OID;
	values[6] = Int32GetDatum(min_events);
	types[7] = REGROLEOID;
	values[7] = ObjectIdGetDatum(owner);
	types[8] = TEXTOID;
	values[8] = CStringGetTextDatum(owner_name);
	sql = psprintf("INSERT INTO %s.slo_objective "
				   "(name, check_id, alert_check_id, target, period, good_below, min_events, owner, owner_name) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
				   "ON CONFLICT (name) DO NOTHING RETURNING id", ext.nspname);
	if (SPI_execute_with_args(sql, 9, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "slo_guard: could not insert objective");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("objective \"%s\" already exists", SloShownText(name)),
				 errhint("Use slo_alter_objective() to change it, or slo_drop_objective() first.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	memset(nulls, ' ', sizeof(nulls));
	types[0] = INT8OID;
	values[0] = Int64GetDatum(internal_id);
	types[1] = INT8OID;
	values[1] = Int64GetDatum(id);
	sql = psprintf("UPDATE %s.slo_check SET params = jsonb_build_object('objective_id', $2) "
				   "WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not update the objective's check");
	sql = psprintf("INSERT INTO %s.slo_check_state (check_id, next_run) VALUES ($1, now())",
				   ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not insert the objective's check state");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	ResetCache();
	PG_RETURN_INT64(id);
}

/*
 * Find objective "name" and check that the caller may change it; locks, in
 * the order of checks (state row of its internal check, then the rows), and
 * returns its id and internal check id.  false if missing and missing_ok.
 */
static bool
LockObjective(const SloExtension *ext, const char *name, bool missing_ok, Oid caller,
			  int64 *id, int64 *internal_id)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *sql;
	bool		isnull;
	Oid			owner;
	char	   *owner_name;

	values[0] = CStringGetTextDatum(name);
	sql = psprintf("SELECT s.check_id FROM %s.slo_check_state s "
				   "JOIN %s.slo_objective o ON o.alert_check_id = s.check_id "
				   "WHERE o.name = $1 FOR UPDATE OF s", ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not lock objective");
	sql = psprintf("SELECT id, alert_check_id, owner, owner_name FROM %s.slo_objective "
				   "WHERE name = $1 FOR UPDATE", ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read objective");
	if (SPI_processed == 0)
	{
		if (missing_ok)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("objective \"%s\" does not exist", SloShownText(name)),
				 errhint("SELECT name FROM slo_objective_status() lists the objectives.")));
	}
	*id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*internal_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	owner_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	SloCheckOwnership("objective", name, owner, owner_name, caller);
	return true;
}

PG_FUNCTION_INFO_V1(slo_alter_objective);

/* slo_alter_objective(name, target, period, good_below, min_events, clear_good_below) */
Datum
slo_alter_objective(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	bool		clear_good_below = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	SloExtension ext;
	SloBookkeeping bk;
	Oid			types[7] = {INT8OID, FLOAT8OID, INTERVALOID, FLOAT8OID, INT4OID, BOOLOID, BOOLOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int64		id;
	int64		internal_id;
	char	   *sql;
	Oid			caller = GetUserId();	/* before the bookkeeping section */

	if (!PG_ARGISNULL(1))
		ValidateTarget(PG_GETARG_FLOAT8(1));
	if (!PG_ARGISNULL(2))
		ValidatePeriod(PG_GETARG_INTERVAL_P(2));
	if (!PG_ARGISNULL(3))
	{
		if (clear_good_below)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("arguments \"good_below\" and \"clear_good_below\" contradict each other"),
					 errhint("Pass good_below to set it, or clear_good_below => true to remove it.")));
		ValidateGoodBelow(PG_GETARG_FLOAT8(3));
	}
	if (!PG_ARGISNULL(4))
		ValidateMinEvents(PG_GETARG_INT32(4));

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	LockObjective(&ext, name, false, caller, &id, &internal_id);

	values[0] = Int64GetDatum(id);
	for (int i = 1; i <= 4; i++)
	{
		if (PG_ARGISNULL(i))
		{
			nulls[i] = 'n';
			values[i] = (Datum) 0;
		}
		else
			values[i] = PG_GETARG_DATUM(i);
	}
	values[5] = BoolGetDatum(!PG_ARGISNULL(3));
	values[6] = BoolGetDatum(clear_good_below);
	sql = psprintf("UPDATE %s.slo_objective SET target = coalesce($2, target), "
				   "period = coalesce($3, period), "
				   "good_below = CASE WHEN $7 THEN NULL WHEN $6 THEN $4 ELSE good_below END, "
				   "min_events = coalesce($5, min_events), updated_at = now() "
				   "WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 7, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not update objective");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(slo_drop_objective);

/*
 * slo_drop_objective(name, if_exists): remove an objective, its rollups, its
 * internal check and that check's results and alerts (a firing alert is
 * resolved first, "objective dropped by <role>", with its NOTIFY).
 */
Datum
slo_drop_objective(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	bool		if_exists = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	SloExtension ext;
	SloBookkeeping bk;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	int64		id;
	int64		internal_id;
	char	   *sql;
	Oid			caller = GetUserId();	/* before the bookkeeping section */

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	if (!LockObjective(&ext, name, if_exists, caller, &id, &internal_id))
	{
		SPI_finish();
		SloLeaveBookkeeping(&bk);
		PG_RETURN_BOOL(false);
	}

	SloAlertResolveManual(&ext, internal_id,
						  psprintf("objective dropped by %s",
								   GetUserNameFromId(caller, false)));

	values[0] = Int64GetDatum(id);
	sql = psprintf("DELETE FROM %s.slo_objective WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not delete objective");
	values[0] = Int64GetDatum(internal_id);
	sql = psprintf("DELETE FROM %s.slo_check WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not delete the objective's check");
	sql = psprintf("DELETE FROM %s.slo_result WHERE check_id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not delete the objective's results");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	ResetCache();
	PG_RETURN_BOOL(true);
}

/* ---- the kind "objective": burn rates -> the alert objective:<name> ---- */

static const SloParam objective_params[] = {
	{"objective_id", SLO_PARAM_INTEGER, true, 1, 9.0e15},
	SLO_PARAM_END
};

/* "30 days" / "this calendar month" for summaries (period_text: the interval as text) */
static const char *
PeriodText(const char *period_text, bool month)
{
	return month ? "this calendar month" : period_text;
}

static void
objective_run(const SloCheck *check, SloOutcome *out)
{
	SloBookkeeping bk;
	const char *nsp = check->ext->nspname;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	double		oid;
	char	   *sql;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *name;
	char	   *period;
	bool		month;
	double		target;
	int64		good;
	int64		total;
	double		budget_left;
	double		burn[5];
	bool		burn_null[5];
	char	   *page;
	char	   *detail;
	MemoryContext callercxt = CurrentMemoryContext;

	SloRunParams(check);
	if (!SloParamNumber(check->params, "objective_id", &oid))
		elog(ERROR, "objective_id missing");	/* SloRunParams refused it already */

	SloEnterBookkeeping(check->ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	values[0] = Int64GetDatum((int64) oid);
	values[1] = Int64GetDatum(check->id);
	sql = psprintf("SELECT o.name, "
				   "       CASE WHEN EXTRACT(year FROM o.period) * 12 + EXTRACT(month FROM o.period) > 0 "
				   "            THEN '' ELSE o.period::text END, o.target, e.good, e.total, e.budget_left, "
				   "       e.burn_5m, e.burn_30m, e.burn_1h, e.burn_6h, e.burn_3d, e.page, "
				   "       row_to_json(e)::text "
				   "  FROM %s.slo_objective o, %s.slo_objective_eval(o.id) e "
				   " WHERE o.id = $1 AND o.alert_check_id = $2", nsp, nsp);
	if (SPI_execute_with_args(sql, 2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the objective");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("objective with id %lld does not exist", (long long) oid),
				 errhint("Checks of kind \"objective\" are created by slo_add_objective().")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	name = MemoryContextStrdup(callercxt, SPI_getvalue(tup, desc, 1));
	period = MemoryContextStrdup(callercxt, SPI_getvalue(tup, desc, 2));
	month = (period[0] == '\0');
	target = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	good = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	total = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	budget_left = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
	for (int i = 0; i < 5; i++)
	{
		Datum		d = SPI_getbinval(tup, desc, 7 + i, &burn_null[i]);

		burn[i] = burn_null[i] ? 0 : DatumGetFloat8(d);
	}
	page = SPI_getvalue(tup, desc, 12);
	if (page)
		page = MemoryContextStrdup(callercxt, page);
	detail = MemoryContextStrdup(callercxt, SPI_getvalue(tup, desc, 13));

	/* Trim rollups older than the period and the longest window (3 days). */
	if (!RecoveryInProgress())
	{
		const char *keep = "least(CASE WHEN EXTRACT(year FROM o.period) * 12 "
			"+ EXTRACT(month FROM o.period) > 0 "
			"THEN date_trunc('month', now(), 'UTC') ELSE now() - o.period END, "
			"now() - interval '3 days') - interval '1 hour'";

		sql = psprintf("WITH o AS (SELECT id, period FROM %s.slo_objective WHERE id = $1), "
					   "m AS (DELETE FROM %s.slo_objective_minute r USING o "
					   "      WHERE r.objective_id = o.id AND r.minute < %s) "
					   "DELETE FROM %s.slo_objective_hour r USING o "
					   "WHERE r.objective_id = o.id AND r.hour < %s",
					   nsp, nsp, keep, nsp, keep);
		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not trim the objective's rollups");
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);

	SloOutcomeDetail(out, detail);
	if (page != NULL)
	{
		int			rule = (page[1] == '1') ? 0 : (page[1] == '2') ? 1 : 2;
		static const char *const lw[3] = {"1 h", "6 h", "3 d"};
		static const char *const sw[3] = {"5 min", "30 min", "6 h"};
		static const double factor[3] = {14.4, 6, 1};
		static const int li[3] = {2, 3, 4};
		static const int si[3] = {0, 1, 3};

		SloOutcomeSet(out, SLO_FAIL, true, burn[li[rule]],
					  "Objective \"%s\" burns its error budget %.1fx over %s and %.1fx over %s "
					  "(%s rule: %gx); %.3f%% good over %s (target %.3f%%), %.2f of the budget left.",
					  name, burn[li[rule]], lw[rule], burn[si[rule]], sw[rule], page,
					  factor[rule], total > 0 ? 100.0 * good / total : 100.0,
					  PeriodText(period, month), 100.0 * target, budget_left);
		out->severity = MemoryContextStrdup(out->cxt, page);
	}
	else if (total == 0)
		SloOutcomeSet(out, SLO_OK, false, 0,
					  "Objective \"%s\" has no results over %s yet.", name, PeriodText(period, month));
	else
		SloOutcomeSet(out, SLO_OK, !burn_null[2], burn[2],
					  "Objective \"%s\": %.3f%% good over %s (target %.3f%%), %.2f of the budget left; "
					  "burn rate over 1 h %.2fx.",
					  name, 100.0 * good / total, PeriodText(period, month), 100.0 * target,
					  budget_left, burn[2]);
}

const SloKind SloKindObjective = {
	.name = "objective",
	.description = "internal: evaluates an objective's burn rates (created by slo_add_objective); value = burn rate",
	.params = objective_params,
	.validate = NULL,
	.run = objective_run,
};
