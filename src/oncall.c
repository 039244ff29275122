/*-------------------------------------------------------------------------
 * oncall.c
 *	  On-call (issue 12): slo_ack, escalation, silences.
 *
 *	  slo_ack(alert_id, note) records who (the session user) and when in
 *	  slo_alert and emits `acknowledged`.  The worker's on-call job (a row of
 *	  jobs[] in scheduler.c, about once a second) escalates each firing alert
 *	  not acknowledged within its severity's slo_guard.response_time_pN: the
 *	  UPDATE that sets escalated_at is the claim, so `escalated` is emitted
 *	  exactly once, after a restart too (the state is in slo_alert).
 *
 *	  slo_silence(pattern, duration, reason) / slo_unsilence(id): while an
 *	  active silence's LIKE pattern matches a check's name, results and alert
 *	  state are kept as always, but the alert events are stored with
 *	  notified = false (no NOTIFY, no delivery) and the check is not
 *	  escalated.  When a silence ends (slo_unsilence at once, expiry through
 *	  the job) every firing alert no longer silenced whose latest `firing`
 *	  event was held back gets a new `firing` event, which goes out; an alert
 *	  that resolved inside the silence sends nothing.
 *
 *	  Every event goes through SloAlertRecordEvent (alert.c), the one writer
 *	  of slo_alert_event: NOTIFY and deliveries follow from there.  The SQL
 *	  functions write as the extension owner (a bookkeeping section), so an
 *	  on-call role needs EXECUTE on them only; their queries are fixed
 *	  (schema-qualified, parameters bound), never built from input.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "alert.h"
#include "extension.h"
#include "kind.h"
#include "oncall.h"
#include "slo_guard.h"

#define SLO_PATTERN_MAX 200
#define SLO_REASON_MAX 1000
#define SLO_NOTE_MAX 1000
/* How much of a bad value an error message quotes. */
#define SLO_QUOTE_MAX 64


int			slo_response_time_s[4] = {5 * 60, 15 * 60, 3600, 4 * 3600};

void
SloOncallGucInit(void)
{
	static const char *const names[4] = {
		"slo_guard.response_time_p0", "slo_guard.response_time_p1",
		"slo_guard.response_time_p2", "slo_guard.response_time_p3"
	};
	static const char *const descr[4] = {
		"How long a firing P0 alert may stay unacknowledged before it is escalated.",
		"How long a firing P1 alert may stay unacknowledged before it is escalated.",
		"How long a firing P2 alert may stay unacknowledged before it is escalated.",
		"How long a firing P3 alert may stay unacknowledged before it is escalated."
	};

	for (int i = 0; i < 4; i++)
		DefineCustomIntVariable(names[i], descr[i],
								gettext_noop("Counted from when the alert fired; the worker emits `escalated` once (slo_ack stops it)."),
								&slo_response_time_s[i],
								slo_response_time_s[i], 1, INT_MAX,
								PGC_SIGHUP, GUC_UNIT_S,
								NULL, NULL, NULL);
}

static char *
Quote(const char *s)
{
	return SloClipText(s, SLO_QUOTE_MAX);
}

/* The session user's name: who acknowledged or silenced (SET ROLE does not hide it). */
static char *
SessionUserName(void)
{
	return GetUserNameFromId(GetSessionUserId(), false);
}

bool
SloLikePatternValid(const char *pattern)
{
	for (const char *c = pattern; *c; c++)
	{
		if (*c == '\\')
		{
			if (c[1] == '\0')
				return false;
			c++;
		}
	}
	return true;
}

bool
SloSilenced(const SloExtension *ext, const char *check_name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	char	   *sql;

	/* a schema without the table (an upgrade under way) silences nothing */
	if (!OidIsValid(get_relname_relid("slo_silence", ext->nspoid)))
		return false;
	values[0] = CStringGetTextDatum(check_name);
	sql = psprintf("SELECT EXISTS (SELECT 1 FROM %s.slo_silence s WHERE "
				   SLO_SILENCE_ACTIVE " AND $1 OPERATOR(pg_catalog.~~) s.pattern)",
				   ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not read silences");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Record `event` for alert alert_id from its current row: the check's name,
 * kind and labels, the alert's severity, status and value.  summary NULL:
 * the alert's own summary.  SPI connected, bookkeeping section.
 */
static void
EmitAlertEvent(const SloExtension *ext, int64 alert_id, const char *event,
			   const char *summary, TimestampTz at)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	char	   *sql;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	SloCheck	check;
	SloOutcome	out;
	char	   *kindname;

	values[0] = Int64GetDatum(alert_id);
	sql = psprintf("SELECT a.check_id, c.name, c.kind, a.severity, c.labels, a.status, a.value, a.summary "
				   "FROM %s.slo_alert a JOIN %s.slo_check c ON c.id = a.check_id WHERE a.id = $1",
				   ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read alert");
	if (SPI_processed != 1)
		elog(ERROR, "slo_guard: alert " INT64_FORMAT " vanished", alert_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	memset(&check, 0, sizeof(check));
	memset(&out, 0, sizeof(out));
	out.cxt = CurrentMemoryContext;
	check.ext = ext;
	check.id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	check.name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
	kindname = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
	check.kind = SloFindKind(kindname);
	check.severity = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
	check.labels = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull));
	if (!SloStatusFromName(TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull)), &out.status))
		out.status = SLO_FAIL;
	d = SPI_getbinval(tup, desc, 7, &isnull);
	out.has_value = !isnull;
	out.value = isnull ? 0 : DatumGetFloat8(d);
	if (summary)
		out.summary = pstrdup(summary);
	else
	{
		d = SPI_getbinval(tup, desc, 8, &isnull);
		out.summary = isnull ? NULL : TextDatumGetCString(d);
	}
	SloAlertRecordEvent(ext, event, alert_id, &check, &out, at);
}

/*
 * Send a new `firing` event for every firing alert that no active silence
 * matches and whose latest `firing` event was held back by a silence.
 * Returns how many.  SPI connected, bookkeeping section.
 */
static int
ResendHeldBack(const SloExtension *ext)
{
	char	   *sql;
	int64	   *ids;
	int			n;
	TimestampTz at = GetCurrentTimestamp();

	/* FOR UPDATE: an alert a concurrent pass resolves is seen resolved, and skipped */
	sql = psprintf("SELECT a.id FROM %s.slo_alert a "
				   "WHERE a.state = 'firing' "
				   "AND NOT EXISTS (SELECT 1 FROM %s.slo_silence s WHERE " SLO_SILENCE_ACTIVE
				   "  AND a.check_name OPERATOR(pg_catalog.~~) s.pattern) "
				   "AND NOT coalesce((SELECT e.notified FROM %s.slo_alert_event e "
				   "  WHERE e.alert_id = a.id AND e.event = 'firing' ORDER BY e.id DESC LIMIT 1), true) "
				   "ORDER BY a.id FOR UPDATE OF a",
				   ext->nspname, ext->nspname, ext->nspname);
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read alerts held back by silences");
	n = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int i = 0; i < n; i++)
		EmitAlertEvent(ext, ids[i], "firing", NULL, at);
	return n;
}

/* The response time of a severity, in seconds. */
static int
ResponseTime(const char *severity)
{
	if (severity && severity[0] == 'P' && severity[1] >= '0' && severity[1] <= '3' && severity[2] == '\0')
		return slo_response_time_s[severity[1] - '0'];
	return slo_response_time_s[3];
}

/* Escalate every firing alert due; returns how many.  SPI connected, bookkeeping. */
static int
Escalate(const SloExtension *ext)
{
	Oid			types[5] = {TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
	Datum		values[5];
	char	   *sql;
	int			n;
	int64	   *ids;
	char	  **sev;
	TimestampTz at = GetCurrentTimestamp();

	values[0] = TimestampTzGetDatum(at);
	for (int i = 0; i < 4; i++)
		values[i + 1] = Float8GetDatum((double) slo_response_time_s[i]);
	/* the UPDATE is the claim: escalated_at is set once, by one statement */
	sql = psprintf("UPDATE %s.slo_alert a SET escalated_at = $1 "
				   "WHERE a.state = 'firing' AND a.acknowledged_at IS NULL AND a.escalated_at IS NULL "
				   "AND a.fired_at + pg_catalog.make_interval(secs => CASE a.severity "
				   "  WHEN 'P0' THEN $2 WHEN 'P1' THEN $3 WHEN 'P2' THEN $4 ELSE $5 END) <= $1 "
				   "AND NOT EXISTS (SELECT 1 FROM %s.slo_silence s WHERE " SLO_SILENCE_ACTIVE
				   "  AND a.check_name OPERATOR(pg_catalog.~~) s.pattern) "
				   "RETURNING a.id, a.severity",
				   ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 5, types, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "slo_guard: could not escalate alerts");
	n = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	sev = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		sev[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	for (int i = 0; i < n; i++)
	{
		char	   *summary = psprintf("Not acknowledged within %s (the %s response time).",
									   SloFormatDuration(ResponseTime(sev[i])), sev[i]);

		EmitAlertEvent(ext, ids[i], "escalated", summary, at);
	}
	return n;
}

/* End expired silences; send what they held back.  SPI connected, bookkeeping. */
static void
ExpireSilences(const SloExtension *ext)
{
	char	   *sql;

	sql = psprintf("UPDATE %s.slo_silence SET ended_at = ends_at "
				   "WHERE ended_at IS NULL AND ends_at <= now()", ext->nspname);
	if (SPI_execute(sql, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not end expired silences");
	if (SPI_processed > 0)
		(void) ResendHeldBack(ext);
}

long
SloOncallJob(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	SloExtension ext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SloFindExtension(&ext) && ext.version_ok &&
		OidIsValid(get_relname_relid("slo_silence", ext.nspoid)))
	{
		SloBookkeeping bk;

		SloEnterBookkeeping(&ext, &bk);
		/* our statements never wait long for a lock (a DDL holding one) */
		(void) set_config_option("lock_timeout", "5000", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "slo_guard: SPI_connect failed");
		/* silences first: an alert whose silence just ended gets its firing event before any escalation */
		ExpireSilences(&ext);
		(void) Escalate(&ext);
		SPI_finish();
		SloLeaveBookkeeping(&bk);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return -1;
}


/* ---------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------
 */

static void
RequireArg(FunctionCallInfo fcinfo, int argno, const char *argname, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint("%s", hint)));
}

/* Free text (a note, a reason): no longer than max bytes. */
static void
ValidateFreeText(const char *argname, const char *s, int max)
{
	if (strlen(s) > (size_t) max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" is too long (%zu bytes): \"%s\"", argname, strlen(s), Quote(s)),
				 errhint("Keep it under %d bytes; link to a ticket for more.", max)));
}

PG_FUNCTION_INFO_V1(slo_ack);

/* slo_ack(alert_id bigint, note text DEFAULT NULL) RETURNS void */
Datum
slo_ack(PG_FUNCTION_ARGS)
{
	int64		alert_id;
	char	   *note = NULL;
	char	   *who = SessionUserName();
	SloExtension ext;
	SloBookkeeping bk;
	Oid			types[4] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *sql;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *state;
	char	   *check_name;
	TimestampTz at = GetCurrentTimestamp();

	RequireArg(fcinfo, 0, "alert_id", "slo_status() shows the alert_id of each firing check.");
	alert_id = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		note = text_to_cstring(PG_GETARG_TEXT_PP(1));
		ValidateFreeText("note", note, SLO_NOTE_MAX);
	}

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	/* the row lock serializes two acks (and the escalation job's claim) */
	values[0] = Int64GetDatum(alert_id);
	sql = psprintf("SELECT state, check_name, acknowledged_at, acknowledged_by "
				   "FROM %s.slo_alert WHERE id = $1 FOR UPDATE", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read alert");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("alert " INT64_FORMAT " does not exist", alert_id),
				 errhint("slo_status() shows the alert_id of each firing check.")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	state = SPI_getvalue(tup, desc, 1);
	check_name = SPI_getvalue(tup, desc, 2);
	(void) SPI_getbinval(tup, desc, 3, &isnull);
	if (strcmp(state, "firing") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("alert " INT64_FORMAT " (check \"%s\") is already resolved",
						alert_id, Quote(check_name)),
				 errhint("Only a firing alert can be acknowledged; slo_incident_report(" INT64_FORMAT ") shows its timeline.",
						 alert_id)));
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("alert " INT64_FORMAT " (check \"%s\") was already acknowledged by %s at %s",
						alert_id, Quote(check_name), Quote(SPI_getvalue(tup, desc, 4)),
						SPI_getvalue(tup, desc, 3)),
				 errhint("An alert is acknowledged once; slo_incident_report(" INT64_FORMAT ") shows who and when.",
						 alert_id)));

	values[1] = TimestampTzGetDatum(at);
	values[2] = CStringGetTextDatum(who);
	values[3] = note ? CStringGetTextDatum(note) : (Datum) 0;
	if (!note)
		nulls[3] = 'n';
	sql = psprintf("UPDATE %s.slo_alert SET acknowledged_at = $2, acknowledged_by = $3, ack_note = $4 "
				   "WHERE id = $1", ext.nspname);
	if (SPI_execute_with_args(sql, 4, types, values, nulls, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not acknowledge alert");

	EmitAlertEvent(&ext, alert_id, "acknowledged",
				   note ? psprintf("Acknowledged by %s: %s", who, note)
				   : psprintf("Acknowledged by %s.", who), at);

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_VOID();
}

/* A silence's duration: 1 second to 1 year. */
static void
ValidateDuration(Interval *d)
{
	bool		ok = d->month >= 0 && d->month <= 12 && d->day >= 0 && d->day <= 366;
	int64		us = ok ? d->time + (int64) d->day * USECS_PER_DAY +
		(int64) d->month * DAYS_PER_MONTH * USECS_PER_DAY : 0;

	if (!ok || us < USECS_PER_SEC || us > 366 * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid silence duration: %s",
						Quote(DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(d))))),
				 errdetail("A silence lasts from 1 second to 1 year."),
				 errhint("Use an interval such as '30 minutes' or '2 hours'; slo_unsilence() ends a silence early.")));
}

static void
ValidatePattern(const char *pattern)
{
	const char *why = NULL;

	if (pattern[0] == '\0')
		why = "A pattern must not be empty.";
	else if (strlen(pattern) > SLO_PATTERN_MAX)
		why = psprintf("A pattern must be at most %d bytes long.", SLO_PATTERN_MAX);
	else if (!SloLikePatternValid(pattern))
		why = "A LIKE pattern must not end with the escape character (backslash).";
	else
		for (const char *c = pattern; *c; c++)
			if ((unsigned char) *c < ' ' || *c == 0x7f)
			{
				why = "A pattern must not contain control characters.";
				break;
			}
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid silence pattern \"%s\"", Quote(pattern)),
				 errdetail("%s", why),
				 errhint("A pattern is a LIKE pattern on check names: 'db_%%' silences every check whose name starts with db_, '%%' silences all (maintenance mode).")));
}

PG_FUNCTION_INFO_V1(slo_silence);

/* slo_silence(pattern text, duration interval, reason text) RETURNS bigint */
Datum
slo_silence(PG_FUNCTION_ARGS)
{
	char	   *pattern;
	Interval   *duration;
	char	   *reason;
	char	   *who = SessionUserName();
	SloExtension ext;
	SloBookkeeping bk;
	Oid			types[5] = {TEXTOID, TIMESTAMPTZOID, INTERVALOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char	   *sql;
	bool		isnull;
	int64		id;

	RequireArg(fcinfo, 0, "pattern", "A pattern is a LIKE pattern on check names; '%' silences all (maintenance mode).");
	RequireArg(fcinfo, 1, "duration", "Give how long the silence lasts, such as '2 hours'.");
	RequireArg(fcinfo, 2, "reason", "Say why, for whoever sees the checks silenced: 'deploy of v2.3', 'maintenance window'.");
	pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	duration = PG_GETARG_INTERVAL_P(1);
	reason = text_to_cstring(PG_GETARG_TEXT_PP(2));

	ValidatePattern(pattern);
	ValidateDuration(duration);
	if (reason[strspn(reason, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"reason\" must not be empty"),
				 errhint("Say why, for whoever sees the checks silenced: 'deploy of v2.3', 'maintenance window'.")));
	ValidateFreeText("reason", reason, SLO_REASON_MAX);

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	values[0] = CStringGetTextDatum(pattern);
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[2] = IntervalPGetDatum(duration);
	values[3] = CStringGetTextDatum(reason);
	values[4] = CStringGetTextDatum(who);
	sql = psprintf("INSERT INTO %s.slo_silence (pattern, starts_at, ends_at, reason, created_by) "
				   "VALUES ($1, $2, $2 + $3, $4, $5) RETURNING id", ext.nspname);
	if (SPI_execute_with_args(sql, 5, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not insert silence");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(slo_unsilence);

/*
 * slo_unsilence(id bigint) RETURNS integer: end a silence now; the firing
 * events it held back go out at once.  Returns how many.
 */
Datum
slo_unsilence(PG_FUNCTION_ARGS)
{
	int64		id;
	char	   *who = SessionUserName();
	SloExtension ext;
	SloBookkeeping bk;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char	   *sql;
	int			sent;
	bool		active;

	RequireArg(fcinfo, 0, "id", "slo_silences() lists the active silences with their ids.");
	id = PG_GETARG_INT64(0);

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(who);
	sql = psprintf("SELECT ended_at, ends_at, ended_at IS NULL AND ends_at > now() "
				   "FROM %s.slo_silence WHERE id = $1 FOR UPDATE", ext.nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read silence");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("silence " INT64_FORMAT " does not exist", id),
				 errhint("slo_silences() lists the active silences with their ids.")));
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *ended = SPI_getvalue(tup, desc, 1);
		bool		isnull;

		if (ended != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("silence " INT64_FORMAT " already ended at %s", id, ended),
					 errhint("slo_silences() lists the active silences with their ids.")));
		active = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	}
	/*
	 * An active silence ends now, by us; one that expired unseen (no worker)
	 * is recorded as expired, and what it held back is sent now all the same.
	 */
	if (active)
		sql = psprintf("UPDATE %s.slo_silence SET ended_at = now(), ended_by = $2 WHERE id = $1",
					   ext.nspname);
	else
		sql = psprintf("UPDATE %s.slo_silence SET ended_at = ends_at WHERE id = $1",
					   ext.nspname);
	if (SPI_execute_with_args(sql, active ? 2 : 1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not end silence");
	sent = ResendHeldBack(&ext);
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_INT32(sent);
}
