/*-------------------------------------------------------------------------
 * run.c
 *	  Running checks.  One pass:
 *	    1. lock the due checks' state rows (FOR UPDATE SKIP LOCKED), so the
 *	       worker, pg_cron and a hand call never run one check twice at once;
 *	    2. run each check in its own subtransaction, as its owner, with its
 *	       search_path and a timeout; an error, a timeout or a cancel of the
 *	       check becomes an `error` result and the pass goes on;
 *	    3. apply each result to the alert state machine (alert.c);
 *	    4. write all results and the new state with one INSERT and one UPDATE.
 *	  Everything lands in the caller's transaction.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "alert.h"
#include "guc.h"
#include "kind.h"
#include "run.h"

#define SLO_SUMMARY_STORED_MAX 1000

/* One check of a pass: definition, previous state, and its new result. */
typedef struct SloRunItem
{
	SloCheck	check;
	const char *kind_name;
	bool		had_status;
	SloStatus	prev_status;
	TimestampTz prev_since;
	TimestampTz prev_next_run;
	SloAlertState alert;
	/* result */
	SloOutcome	out;
	TimestampTz at;
	double		duration_ms;
	TimestampTz next_run;
	bool		keep;
	int64		result_id;
} SloRunItem;

/* ---- per-check timeout ---- */

static volatile sig_atomic_t check_timed_out = false;
static TimeoutId check_timeout_id = MAX_TIMEOUTS;

/* SIGALRM-time handler: cancel the running check like statement_timeout does. */
static void
CheckTimeoutHandler(void)
{
	check_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

static void
ArmCheckTimeout(int ms)
{
	if (check_timeout_id == MAX_TIMEOUTS)
		check_timeout_id = RegisterTimeout(USER_TIMEOUT, CheckTimeoutHandler);
	check_timed_out = false;
	enable_timeout_after(check_timeout_id, ms);
}

static void
DisarmCheckTimeout(void)
{
	if (check_timeout_id != MAX_TIMEOUTS)
		disable_timeout(check_timeout_id, false);
}

/* ---- running one check ---- */

static int
CheckTimeoutMs(const SloCheck *check)
{
	int64		ms;

	if (SloParamIntervalMs(check->params, "timeout", &ms) && ms > 0)
		return (int) Min(ms, (int64) INT_MAX);
	return slo_check_timeout_ms;
}

/*
 * Run one check in a subtransaction.  Anything the check throws is caught
 * and recorded, except a cancel or termination of the whole session, which
 * is re-thrown: pg_cancel_backend() on a pass stops the pass.
 */
static void
RunOne(SloRunItem *item, MemoryContext cxt)
{
	ResourceOwner oldowner = CurrentResourceOwner;
	SloCheck   *check = &item->check;
	SloOutcome *out = &item->out;
	int			timeout_ms = CheckTimeoutMs(check);

	memset(out, 0, sizeof(*out));
	out->cxt = cxt;
	item->at = GetCurrentTimestamp();

	if (check->kind == NULL)
	{
		SloOutcomeSet(out, SLO_ERROR, false, 0,
					  "Unknown check kind \"%s\" (not known to this version of slo_guard).",
					  item->kind_name);
		return;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Oid			saved_user;
		int			saved_sec;
		int			nest;

		/* never as another role: a dropped owner, or its OID reused, is an error */
		SloCheckOwnerIntact(check->owner, check->owner_name);
		nest = SloPushSearchPath(check->search_path);
		GetUserIdAndSecContext(&saved_user, &saved_sec);
		SetUserIdAndSecContext(check->owner,
							   saved_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		ArmCheckTimeout(timeout_ms);

		check->kind->run(check, out);

		DisarmCheckTimeout();
		if (check_timed_out)
		{
			/* fired after the check's last interrupt check: ours, not the user's */
			QueryCancelPending = false;
			check_timed_out = false;
		}
		SetUserIdAndSecContext(saved_user, saved_sec);
		AtEOXact_GUC(true, nest);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		timed_out = check_timed_out;

		DisarmCheckTimeout();
		check_timed_out = false;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = oldowner;

		/* the session's own cancel or statement_timeout ends the whole pass */
		if (ProcDiePending ||
			(edata->sqlerrcode == ERRCODE_QUERY_CANCELED && !timed_out))
			ReThrowError(edata);

		if (timed_out && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			SloOutcomeSet(out, SLO_ERROR, false, 0,
						  "Check timed out after %d ms and was cancelled.", timeout_ms);
		else
			SloOutcomeSet(out, SLO_ERROR, false, 0, "Check could not run: %s (SQLSTATE %s).%s%s",
						  edata->message, unpack_sql_state(edata->sqlerrcode),
						  edata->hint ? " " : "", edata->hint ? edata->hint : "");
		FreeErrorData(edata);
	}
	PG_END_TRY();

	item->duration_ms = (double) (GetCurrentTimestamp() - item->at) / 1000.0;
	if (out->summary == NULL)
		SloOutcomeSet(out, out->status, out->has_value, out->value, "%s",
					  SloStatusName(out->status));
	if (strlen(out->summary) > SLO_SUMMARY_STORED_MAX)
		out->summary = psprintf("%.*s...", SLO_SUMMARY_STORED_MAX - 3, out->summary);
	if (out->has_value && !isfinite(out->value))
		out->has_value = false;
}

/* Next due time on the check's grid, strictly after now: no drift, no catch-up. */
static TimestampTz
NextRun(TimestampTz prev_next, int64 every_us, TimestampTz now)
{
	TimestampTz next;

	if (every_us <= 0)
		every_us = USECS_PER_SEC;
	if (prev_next <= 0 || prev_next > now + every_us)
		return now + every_us;
	next = prev_next + every_us;
	if (next <= now)
		next = prev_next + ((now - prev_next) / every_us + 1) * every_us;
	return next;
}

/* ---- loading and writing ---- */

static void
LoadDue(const SloExtension *ext, bool only_due, bool lock, MemoryContext cxt,
		SloRunItem **items_out, int *n_out)
{
	char	   *sql;
	Oid			types[2] = {BOOLOID, TIMESTAMPTZOID};
	Datum		values[2];
	SloRunItem *items;
	int			n;

	sql = psprintf("SELECT c.id, c.name, c.kind, c.params, c.severity, c.labels, c.owner, "
				   "       c.search_path, c.fail_after, "
				   "       (extract(epoch FROM c.every) * 1000000)::int8, "
				   "       s.status, s.since, s.next_run, s.fail_streak, s.first_fail_at, s.alert_id, "
				   "       c.owner_name "
				   "FROM %s.slo_check c JOIN %s.slo_check_state s ON s.check_id = c.id "
				   "WHERE c.enabled AND (NOT $1 OR s.next_run <= $2) "
				   "ORDER BY s.next_run, c.id %s",
				   ext->nspname, ext->nspname, lock ? "FOR UPDATE OF s SKIP LOCKED" : "");
	values[0] = BoolGetDatum(only_due);
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (SPI_execute_with_args(sql, 2, types, values, NULL, !lock, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read due checks");

	n = (int) SPI_processed;
	items = MemoryContextAllocZero(cxt, sizeof(SloRunItem) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SloRunItem *it = &items[i];
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Datum		d;

		it->check.ext = ext;
		it->check.id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		it->check.name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		it->kind_name = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		it->check.kind = SloFindKind(it->kind_name);
		it->check.params = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		it->check.severity = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
		it->check.labels = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 6, &isnull));
		it->check.owner = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		it->check.search_path = TextDatumGetCString(SPI_getbinval(tup, desc, 8, &isnull));
		it->check.fail_after = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		it->check.every_us = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
		d = SPI_getbinval(tup, desc, 11, &isnull);
		it->had_status = !isnull && SloStatusFromName(TextDatumGetCString(d), &it->prev_status);
		d = SPI_getbinval(tup, desc, 12, &isnull);
		it->prev_since = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 13, &isnull);
		it->prev_next_run = isnull ? 0 : DatumGetTimestampTz(d);
		it->alert.fail_streak = DatumGetInt32(SPI_getbinval(tup, desc, 14, &isnull));
		d = SPI_getbinval(tup, desc, 15, &isnull);
		it->alert.first_fail_at = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 16, &isnull);
		it->alert.alert_id = isnull ? 0 : DatumGetInt64(d);
		it->check.owner_name = TextDatumGetCString(SPI_getbinval(tup, desc, 17, &isnull));
		MemoryContextSwitchTo(old);
	}
	*items_out = items;
	*n_out = n;
}

/* Build a 1-D array datum of the given type from values/nulls. */
static Datum
MakeArray(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* Insert the kept results in one statement; sets result_id of each. */
static void
WriteResults(const SloExtension *ext, SloRunItem *items, int n)
{
	Datum	   *v[8];
	bool	   *nl[8];
	Oid			elem[8] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID, TEXTOID,
	TEXTOID, FLOAT8OID};
	Oid			types[8];
	Datum		args[8];
	int			k = 0;
	int		   *index = palloc(sizeof(int) * n);
	char	   *sql;

	for (int c = 0; c < 8; c++)
	{
		v[c] = palloc(sizeof(Datum) * n);
		nl[c] = palloc0(sizeof(bool) * n);
		types[c] = get_array_type(elem[c]);
	}
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];

		if (!it->keep)
			continue;
		index[k] = i;
		v[0][k] = Int64GetDatum(it->check.id);
		v[1][k] = CStringGetTextDatum(it->check.name);
		v[2][k] = TimestampTzGetDatum(it->at);
		v[3][k] = CStringGetTextDatum(SloStatusName(it->out.status));
		v[4][k] = Float8GetDatum(it->out.value);
		nl[4][k] = !it->out.has_value;
		v[5][k] = CStringGetTextDatum(it->out.summary);
		if (it->out.detail)
			v[6][k] = CStringGetTextDatum(it->out.detail);
		else
			nl[6][k] = true;
		v[7][k] = Float8GetDatum(it->duration_ms);
		k++;
	}
	if (k == 0)
		return;
	for (int c = 0; c < 8; c++)
		args[c] = MakeArray(v[c], nl[c], k, elem[c]);

	sql = psprintf("INSERT INTO %s.slo_result "
				   "(check_id, check_name, at, status, value, summary, detail, duration_ms) "
				   "SELECT u.a, u.b, u.c, u.d, u.e, u.f, u.g::jsonb, u.h "
				   "FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WITH ORDINALITY "
				   "     AS u(a, b, c, d, e, f, g, h, o) ORDER BY u.o "
				   "RETURNING id", ext->nspname);
	if (SPI_execute_with_args(sql, 8, types, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != (uint64) k)
		elog(ERROR, "slo_guard: could not record results");
	/* RETURNING follows insertion order, which follows ORDER BY u.o. */
	for (int j = 0; j < k; j++)
	{
		bool		isnull;

		items[index[j]].result_id =
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/* Write the new state of every check run, in one statement. */
static void
WriteState(const SloExtension *ext, SloRunItem *items, int n)
{
#define NSTATE 10
	Datum	   *v[NSTATE];
	bool	   *nl[NSTATE];
	Oid			elem[NSTATE] = {INT8OID, TEXTOID, FLOAT8OID, TEXTOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, INT8OID};
	Oid			types[NSTATE];
	Datum		args[NSTATE];
	char	   *sql;

	for (int c = 0; c < NSTATE; c++)
	{
		v[c] = palloc(sizeof(Datum) * n);
		nl[c] = palloc0(sizeof(bool) * n);
		types[c] = get_array_type(elem[c]);
	}
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];
		bool		same = it->had_status && it->prev_status == it->out.status;

		v[0][i] = Int64GetDatum(it->check.id);
		v[1][i] = CStringGetTextDatum(SloStatusName(it->out.status));
		v[2][i] = Float8GetDatum(it->out.value);
		nl[2][i] = !it->out.has_value;
		v[3][i] = CStringGetTextDatum(it->out.summary);
		v[4][i] = TimestampTzGetDatum(same && it->prev_since ? it->prev_since : it->at);
		v[5][i] = TimestampTzGetDatum(it->at);
		v[6][i] = TimestampTzGetDatum(it->next_run);
		v[7][i] = Int32GetDatum(it->alert.fail_streak);
		v[8][i] = TimestampTzGetDatum(it->alert.first_fail_at);
		nl[8][i] = (it->alert.first_fail_at == 0);
		v[9][i] = Int64GetDatum(it->alert.alert_id);
		nl[9][i] = (it->alert.alert_id == 0);
	}
	for (int c = 0; c < NSTATE; c++)
		args[c] = MakeArray(v[c], nl[c], n, elem[c]);

	sql = psprintf("UPDATE %s.slo_check_state s SET status = u.status, value = u.value, "
				   "summary = u.summary, since = u.since, last_run = u.last_run, "
				   "next_run = u.next_run, fail_streak = u.fail_streak, "
				   "first_fail_at = u.first_fail_at, alert_id = u.alert_id "
				   "FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
				   "  AS u(check_id, status, value, summary, since, last_run, next_run, "
				   "       fail_streak, first_fail_at, alert_id) "
				   "WHERE s.check_id = u.check_id", ext->nspname);
	if (SPI_execute_with_args(sql, NSTATE, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not record check state");
#undef NSTATE
}

/* Append one slo_result row per item to the caller's tuplestore. */
static void
EmitResults(SloRunItem *items, int n, Tuplestorestate *out, TupleDesc desc)
{
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];
		Datum		values[9];
		bool		nulls[9] = {false};

		values[0] = Int64GetDatum(it->result_id);
		nulls[0] = !it->keep;
		values[1] = Int64GetDatum(it->check.id);
		values[2] = CStringGetTextDatum(it->check.name);
		values[3] = TimestampTzGetDatum(it->at);
		values[4] = CStringGetTextDatum(SloStatusName(it->out.status));
		values[5] = Float8GetDatum(it->out.value);
		nulls[5] = !it->out.has_value;
		values[6] = CStringGetTextDatum(it->out.summary);
		if (it->out.detail)
			values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(it->out.detail));
		else
			nulls[7] = true;
		values[8] = Float8GetDatum(it->duration_ms);
		tuplestore_putvalues(out, desc, values, nulls);
	}
}

int
SloRunChecks(const SloExtension *ext, bool only_due, Tuplestorestate *out, TupleDesc outdesc)
{
	/*
	 * On a hot standby nothing can be written: checks run and their results
	 * are returned, but no result, state or alert is stored and nothing is
	 * notified (the primary's slo_guard does that).  This is how a standby's
	 * own replication_lag is read.
	 */
	bool		readonly = RecoveryInProgress();
	MemoryContext passcxt;
	MemoryContext oldcxt;
	SloBookkeeping bk;
	SloRunItem *items;
	int			n;

	passcxt = AllocSetContextCreate(CurrentMemoryContext, "slo_guard pass",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(passcxt);

	SloEnterBookkeeping(ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	LoadDue(ext, only_due, !readonly, passcxt, &items, &n);

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		RunOne(&items[i], passcxt);
	}

	for (int i = 0; i < n && !readonly; i++)
	{
		SloRunItem *it = &items[i];

		it->next_run = NextRun(it->prev_next_run, it->check.every_us, it->at);
		it->keep = !(slo_keep_ok_results == SLO_KEEP_OK_CHANGES &&
					 it->out.status == SLO_OK && it->had_status && it->prev_status == SLO_OK);
		SloAlertApply(ext, &it->check, &it->alert, &it->out, it->at);
	}
	if (n > 0 && !readonly)
	{
		WriteResults(ext, items, n);
		WriteState(ext, items, n);
	}

	SPI_finish();
	SloLeaveBookkeeping(&bk);

	MemoryContextSwitchTo(oldcxt);
	if (out != NULL)
		EmitResults(items, n, out, outdesc);
	MemoryContextDelete(passcxt);
	return n;
}

TimestampTz
SloNextDue(const SloExtension *ext)
{
	SloBookkeeping bk;
	TimestampTz result = DT_NOEND;
	char	   *sql;

	SloEnterBookkeeping(ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	sql = psprintf("SELECT min(s.next_run) FROM %s.slo_check c "
				   "JOIN %s.slo_check_state s ON s.check_id = c.id WHERE c.enabled",
				   ext->nspname, ext->nspname);
	if (SPI_execute(sql, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetTimestampTz(d);
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	return result;
}

PG_FUNCTION_INFO_V1(slo_run_checks);

/* slo_run_checks(only_due bool DEFAULT true) RETURNS SETOF slo_result */
Datum
slo_run_checks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		only_due = PG_ARGISNULL(0) ? true : PG_GETARG_BOOL(0);
	SloExtension ext;

	SloGetExtension(&ext);
	InitMaterializedSRF(fcinfo, 0);
	SloRunChecks(&ext, only_due, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}
