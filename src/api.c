/*-------------------------------------------------------------------------
 * api.c
 *	  slo_add_check, slo_alter_check, slo_drop_check.
 *
 *	  Every argument is validated before anything is written, so a mistake
 *	  never leaves a half-made check.  The check's owner is the calling role
 *	  (it runs as that role); the rows are written by the extension owner in a
 *	  bookkeeping section, so callers need EXECUTE only.
 *
 *	  Only a check's owner, a member of the owning role or a superuser may
 *	  alter or drop it (SloCheckOwnership).  Lock order, the same as a pass's
 *	  (run.c): the slo_check_state row first, then the slo_check row.  A pass
 *	  holds the state rows of the checks it runs until it commits and takes
 *	  FOR KEY SHARE on a check row when it opens an alert (the foreign key of
 *	  slo_alert), so locking the check row first could deadlock with it.
 *	  Changes that need the state row (enabled, every, kind, params, drop)
 *	  wait for a pass that is running the check; severity, fail_after and
 *	  labels only lock the check row FOR NO KEY UPDATE, which a pass never
 *	  waits for nor blocks.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "alert.h"
#include "extension.h"
#include "kind.h"
#include "objective.h"
#include "wake.h"

#define SLO_NAME_MAX 200

static void
ValidateName(const char *name)
{
	if (name[0] == '\0' || strlen(name) > SLO_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid check name \"%s\"", SloShownText(name)),
				 errdetail("A check name must be 1 to %d bytes long.", SLO_NAME_MAX)));
	for (const char *c = name; *c; c++)
		if ((unsigned char) *c < ' ' || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid check name \"%s\"", SloShownText(name)),
					 errdetail("A check name must not contain control characters.")));
	if (strncmp(name, "objective:", 10) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid check name \"%s\"", SloShownText(name)),
				 errdetail("Names starting with \"objective:\" are reserved for SLO burn-rate alerts.")));
}

/* Normalise and validate a severity ("p1" is accepted as "P1"). */
static char *
ValidateSeverity(const char *sev)
{
	if (strlen(sev) == 2 && (sev[0] == 'P' || sev[0] == 'p') && sev[1] >= '0' && sev[1] <= '3')
		return psprintf("P%c", sev[1]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid severity \"%s\"", SloShownText(sev)),
			 errhint("Severity is one of P0, P1, P2, P3 (P0 most urgent).")));
	return NULL;				/* keep compiler quiet */
}

static void
ValidateEvery(Interval *every)
{
	/* summed in double (months of 30 days), so no overflow can wrap around */
	double		ms = SloIntervalMsDouble(every);
	const char *bound = NULL;

	if (ms < 1000.0)
		bound = "at least 1 second";
	else if (ms > SLO_INTERVAL_YEAR_MS)
		bound = "at most 1 year (360 days: PostgreSQL counts a month as 30 days)";
	if (bound)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"every\": %s",
						SloShownText(DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(every))))),
				 errdetail("\"every\" must be %s.", bound),
				 errhint("Use an interval from '1 second' to '1 year', such as '30 seconds' or '5 minutes'.")));
}

static void
ValidateFailAfter(int32 n)
{
	if (n < 1 || n > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"fail_after\": %d", n),
				 errhint("fail_after is the number of failed results in a row that opens an alert: 1 or more.")));
}

static void
ValidateLabels(Jsonb *labels)
{
	if (!JB_ROOT_IS_OBJECT(labels) || JB_ROOT_IS_SCALAR(labels))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"labels\": %s",
						SloShownText(JsonbToCString(NULL, &labels->root, VARSIZE(labels)))),
				 errhint("labels must be a JSON object, such as '{\"category\": \"compliance\"}'.")));
}

static const char *
CurrentSearchPath(void)
{
	return GetConfigOption("search_path", false, false);
}

PG_FUNCTION_INFO_V1(slo_add_check);

/* slo_add_check(name, kind, params, severity, every, fail_after, labels) */
Datum
slo_add_check(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	char	   *kindname = SloRequiredText(fcinfo, 1, "kind");
	Jsonb	   *params = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	char	   *severity = ValidateSeverity(SloRequiredText(fcinfo, 3, "severity"));
	Interval   *every;
	int32		fail_after;
	Jsonb	   *labels;
	const SloKind *kind;
	SloExtension ext;
	SloBookkeeping bk;
	Oid			owner = GetUserId();
	const char *search_path = CurrentSearchPath();
	char	   *sql;
	Oid			types[10] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID, INTERVALOID, INT4OID,
	JSONBOID, REGROLEOID, TEXTOID, TEXTOID};
	Datum		values[10];
	int64		id;
	bool		isnull;
	int			ret;

	if (PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments \"every\", \"fail_after\" and \"labels\" must not be null"),
				 errhint("Leave an argument out to get its default.")));
	every = PG_GETARG_INTERVAL_P(4);
	fail_after = PG_GETARG_INT32(5);
	labels = PG_GETARG_JSONB_P(6);

	ValidateName(name);
	kind = SloGetKind(kindname);
	SloObjectiveRefuseKind(kindname);	/* issue 13: kind "objective" is internal */
	if (params == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"params\" must not be null"),
				 errhint("Pass '{}' for a kind without required params.")));
	SloValidateCheckParams(kind, params);
	ValidateEvery(every);
	ValidateFailAfter(fail_after);
	ValidateLabels(labels);

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(kindname);
	values[2] = JsonbPGetDatum(params);
	values[3] = CStringGetTextDatum(severity);
	values[4] = IntervalPGetDatum(every);
	values[5] = Int32GetDatum(fail_after);
	values[6] = JsonbPGetDatum(labels);
	values[7] = ObjectIdGetDatum(owner);
	values[8] = CStringGetTextDatum(search_path);
	values[9] = CStringGetTextDatum(GetUserNameFromId(owner, false));
	sql = psprintf("INSERT INTO %s.slo_check "
				   "(name, kind, params, severity, every, fail_after, labels, owner, search_path, owner_name) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
				   "ON CONFLICT (name) DO NOTHING RETURNING id", ext.nspname);
	ret = SPI_execute_with_args(sql, 10, types, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "slo_guard: could not insert check");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("check \"%s\" already exists", SloShownText(name)),
				 errhint("Use slo_alter_check() to change it, or slo_drop_check() first.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	sql = psprintf("INSERT INTO %s.slo_check_state (check_id, next_run) VALUES ($1, now())",
				   ext.nspname);
	values[0] = Int64GetDatum(id);
	types[0] = INT8OID;
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not insert check state");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	SloWorkerWakeOnCommit();
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(slo_alter_check);

/*
 * Lock the state row of check "name" FOR UPDATE: the first lock alter and
 * drop take, as a pass does (see the top of this file).  Waits while a pass
 * is running the check.  Finding nothing is fine here: the check row is
 * looked up next.
 */
static void
LockCheckState(const SloExtension *ext, const char *name, Oid caller)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *sql;
	volatile int64 withdrawn = 0;

	/*
	 * Issue 15 (harden; issue 9's leftover): a check that one of slo_guard's
	 * own processes is running is given up by that process (cancelled at its
	 * next 100 ms tick, its run discarded, its batch committed), so dropping or
	 * altering it waits some 100-200 ms, not for the whole run.  Only the
	 * check's owner may ask (the same rule as below, checked first here).
	 * A session running the check itself (slo_run_checks in an open
	 * transaction) is still waited for.
	 */
	sql = psprintf("SELECT id, owner, owner_name FROM %s.slo_check WHERE name = $1", ext->nspname);
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		Oid			owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		char	   *owner_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		SloCheckOwnership("check", name, owner, owner_name, caller);
		withdrawn = id;
		SloWithdrawCheck(MyDatabaseId, id, true);
	}

	sql = psprintf("SELECT s.check_id FROM %s.slo_check_state s "
				   "JOIN %s.slo_check c ON c.id = s.check_id "
				   "WHERE c.name = $1 FOR UPDATE OF s", ext->nspname, ext->nspname);
	values[0] = CStringGetTextDatum(name);

	/*
	 * The request stays up while we wait: every process that claims the check
	 * meanwhile gives it up without writing its state row, so the row version
	 * we wait for is the one we get.  It is taken back once we hold the claim,
	 * or if the wait fails (cancel, lock_timeout), so no process skips the
	 * check afterwards.
	 */
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "slo_guard: could not lock check state");
	}
	PG_FINALLY();
	{
		/* we hold the claim now (or failed): nobody else can start it until we commit */
		SloWithdrawCheck(MyDatabaseId, withdrawn, false);
	}
	PG_END_TRY();
}

/*
 * slo_alter_check(name, kind, params, severity, every, fail_after, labels,
 * enabled): NULL arguments keep their value.  Changing kind or params makes
 * the caller the check's owner (the check then runs as the caller) and runs
 * it at the next pass.  Disabling a check resolves its open alert.
 */
Datum
slo_alter_check(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	SloExtension ext;
	SloBookkeeping bk;
	char	   *sql;
	char	   *old_kind;
	Jsonb	   *old_params;
	const SloKind *kind;
	bool		redefine = !PG_ARGISNULL(1) || !PG_ARGISNULL(2);
	bool		disable = !PG_ARGISNULL(7) && !PG_GETARG_BOOL(7);
	/* what touches slo_check_state (schedule, alert) must lock it first */
	bool		needs_state = redefine || !PG_ARGISNULL(4) || !PG_ARGISNULL(7);
	bool		isnull;
	int64		id;
	Oid			owner;
	char	   *owner_name;
	Oid			types[12] = {INT8OID, TEXTOID, JSONBOID, TEXTOID, INTERVALOID, INT4OID,
	JSONBOID, BOOLOID, REGROLEOID, TEXTOID, BOOLOID, TEXTOID};
	Datum		values[12];
	char		nulls[12];
	Oid			caller = GetUserId();
	char	   *caller_name = GetUserNameFromId(caller, false);
	const char *search_path = CurrentSearchPath();	/* the caller's, not ours */

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	if (needs_state)
		LockCheckState(&ext, name, caller);
	sql = psprintf("SELECT id, kind, params, owner, owner_name FROM %s.slo_check "
				   "WHERE name = $1 FOR NO KEY UPDATE", ext.nspname);
	values[0] = CStringGetTextDatum(name);
	types[0] = TEXTOID;
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read check");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("check \"%s\" does not exist", SloShownText(name)),
				 errhint("SELECT name FROM slo_status() lists the checks.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	old_kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	old_params = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	owner_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);

	SloObjectiveRefuseInternal(name, old_kind);	/* issue 13: an objective's own check */
	SloCheckOwnership("check", name, owner, owner_name, caller);

	/* Validate everything first; nothing is written on a bad argument. */
	memset(nulls, 'n', sizeof(nulls));
	types[0] = INT8OID;
	values[0] = Int64GetDatum(id);
	nulls[0] = ' ';
	{
		char	   *kindname = PG_ARGISNULL(1) ? old_kind : text_to_cstring(PG_GETARG_TEXT_PP(1));
		Jsonb	   *params = PG_ARGISNULL(2) ? old_params : PG_GETARG_JSONB_P(2);

		kind = SloGetKind(kindname);
		SloObjectiveRefuseKind(kindname);	/* issue 13 */
		if (redefine)
		{
			SloValidateCheckParams(kind, params);
			values[1] = CStringGetTextDatum(kindname);
			values[2] = JsonbPGetDatum(params);
			nulls[1] = nulls[2] = ' ';
			values[8] = ObjectIdGetDatum(caller);
			values[9] = CStringGetTextDatum(search_path);
			values[11] = CStringGetTextDatum(caller_name);
			nulls[8] = nulls[9] = nulls[11] = ' ';
		}
	}
	if (!PG_ARGISNULL(3))
	{
		values[3] = CStringGetTextDatum(ValidateSeverity(text_to_cstring(PG_GETARG_TEXT_PP(3))));
		nulls[3] = ' ';
	}
	if (!PG_ARGISNULL(4))
	{
		ValidateEvery(PG_GETARG_INTERVAL_P(4));
		values[4] = IntervalPGetDatum(PG_GETARG_INTERVAL_P(4));
		nulls[4] = ' ';
	}
	if (!PG_ARGISNULL(5))
	{
		ValidateFailAfter(PG_GETARG_INT32(5));
		values[5] = Int32GetDatum(PG_GETARG_INT32(5));
		nulls[5] = ' ';
	}
	if (!PG_ARGISNULL(6))
	{
		ValidateLabels(PG_GETARG_JSONB_P(6));
		values[6] = JsonbPGetDatum(PG_GETARG_JSONB_P(6));
		nulls[6] = ' ';
	}
	if (!PG_ARGISNULL(7))
	{
		values[7] = BoolGetDatum(PG_GETARG_BOOL(7));
		nulls[7] = ' ';
	}
	values[10] = BoolGetDatum(redefine);
	nulls[10] = ' ';

	sql = psprintf("UPDATE %s.slo_check SET kind = coalesce($2, kind), "
				   "params = coalesce($3, params), severity = coalesce($4, severity), "
				   "every = coalesce($5, every), fail_after = coalesce($6, fail_after), "
				   "labels = coalesce($7, labels), enabled = coalesce($8, enabled), "
				   "owner = coalesce($9, owner), search_path = coalesce($10, search_path), "
				   "owner_name = coalesce($12, owner_name), "
				   "updated_at = now() WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 12, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not update check");

	/* A disabled check pages no one: its open alert resolves, saying why. */
	if (disable)
		SloAlertResolveManual(&ext, id, psprintf("check disabled by %s", caller_name));

	/*
	 * A new definition, a new schedule or a re-enabled check runs at the next
	 * pass; the new "every" applies from then on.
	 */
	if (needs_state)
	{
		sql = psprintf("UPDATE %s.slo_check_state SET next_run = now() "
					   "WHERE check_id = $1 AND ($11 OR $5 IS NOT NULL OR $8)", ext.nspname);
		if (SPI_execute_with_args(sql, 11, types, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "slo_guard: could not update check state");
	}

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	SloWorkerWakeOnCommit();
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(slo_drop_check);

/*
 * slo_drop_check(name, if_exists): remove a check, its state, alerts and
 * results.  A firing alert is resolved first (event and NOTIFY, summary
 * "check dropped by <role>"); the NOTIFY goes out at commit, while the alert
 * and event rows go with the check (ON DELETE CASCADE).
 */
Datum
slo_drop_check(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	bool		if_exists = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	SloExtension ext;
	SloBookkeeping bk;
	char	   *sql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	int64		id;
	Oid			owner;
	char	   *owner_name;
	bool		isnull;
	Oid			caller = GetUserId();

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	LockCheckState(&ext, name, caller);
	sql = psprintf("SELECT id, owner, owner_name FROM %s.slo_check WHERE name = $1 FOR UPDATE",
				   ext.nspname);
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read check");
	if (SPI_processed == 0)
	{
		if (!if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("check \"%s\" does not exist", SloShownText(name)),
					 errhint("Pass if_exists => true to ignore a missing check.")));
		SPI_finish();
		SloLeaveBookkeeping(&bk);
		PG_RETURN_BOOL(false);
	}
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	owner_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

	SloObjectiveRefuseInternal(name, NULL);	/* issue 13: an objective's own check */
	SloCheckOwnership("check", name, owner, owner_name, caller);
	SloObjectivesRefuseDrop(&ext, id, name);	/* issue 13: measured by an objective */

	SloAlertResolveManual(&ext, id,
						  psprintf("check dropped by %s", GetUserNameFromId(caller, false)));

	/* state and alerts go by ON DELETE CASCADE; results carry no foreign key */
	types[0] = INT8OID;
	values[0] = Int64GetDatum(id);
	sql = psprintf("DELETE FROM %s.slo_check WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not delete check");
	sql = psprintf("DELETE FROM %s.slo_result WHERE check_id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "slo_guard: could not delete results");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	SloWorkerWakeOnCommit();
	PG_RETURN_BOOL(true);
}
