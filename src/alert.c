/*-------------------------------------------------------------------------
 * alert.c
 *	  The alert state machine and the NOTIFY payload.
 *
 *	  A check's alert is pending from its first fail/error result, opens
 *	  (firing) when fail_after results in a row are fail or error, and
 *	  resolves on the next ok or warn result.  Every transition is written to
 *	  slo_alert / slo_alert_event and sent with NOTIFY in the transaction that
 *	  writes the result, so a crash loses neither or both.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonfuncs.h"
#include "utils/lsyscache.h"

#include "alert.h"
#include "delivery.h"
#include "kind.h"
#include "guc.h"
#include "oncall.h"

/* NOTIFY refuses payloads of 8000 bytes or more; keep a margin. */
#define SLO_PAYLOAD_MAX 7900
#define SLO_SUMMARY_MAX 2000

static char *database_name = NULL;

/* Cut a string to at most maxbytes on a character boundary, marking the cut. */
static char *
CutText(const char *s, int maxbytes)
{
	return SloClipText(s, maxbytes);
}

static void
AppendJsonField(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, ",\"%s\":", key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static char *
BuildPayload(const char *event, int64 alert_id, const SloCheck *check, const char *status,
			 bool has_value, double value, const char *summary, TimestampTz at,
			 const char *labels)
{
	StringInfoData buf;
	char		atbuf[MAXDATELEN + 1];

	if (database_name == NULL)
		database_name = MemoryContextStrdup(TopMemoryContext,
											get_database_name(MyDatabaseId));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"event\":");
	escape_json(&buf, event);
	appendStringInfo(&buf, ",\"alert_id\":" INT64_FORMAT, alert_id);
	AppendJsonField(&buf, "check", check->name);
	AppendJsonField(&buf, "kind", check->kind ? check->kind->name : NULL);
	AppendJsonField(&buf, "severity", check->severity);
	AppendJsonField(&buf, "status", status);
	if (has_value && isfinite(value))
		appendStringInfo(&buf, ",\"value\":%s", float8out_internal(value));
	else
		appendStringInfoString(&buf, ",\"value\":null");
	AppendJsonField(&buf, "summary", summary);
	appendStringInfo(&buf, ",\"labels\":%s", labels);
	JsonEncodeDateTime(atbuf, TimestampTzGetDatum(at), TIMESTAMPTZOID, NULL);
	appendStringInfo(&buf, ",\"at\":\"%s\"", atbuf);
	AppendJsonField(&buf, "database", database_name);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

char *
SloAlertPayload(const char *event, int64 alert_id, const SloCheck *check,
				const char *status, bool has_value, double value,
				const char *summary, TimestampTz at)
{
	char	   *labels = check->labels ?
		JsonbToCString(NULL, &check->labels->root, VARSIZE(check->labels)) : "{}";
	char	   *s = summary ? CutText(summary, SLO_SUMMARY_MAX) : NULL;
	char	   *payload;

	payload = BuildPayload(event, alert_id, check, status, has_value, value, s, at, labels);
	if (strlen(payload) <= SLO_PAYLOAD_MAX)
		return payload;
	/* Too long: labels are the only unbounded part left; cut the summary too. */
	payload = BuildPayload(event, alert_id, check, status, has_value, value,
						   s ? CutText(s, 500) : NULL, at, "{\"_truncated\":true}");
	Assert(strlen(payload) <= SLO_PAYLOAD_MAX);
	return payload;
}

/* Write one event row and send its NOTIFY. */
static void
RecordEvent(const SloExtension *ext, const char *event, int64 alert_id,
			const SloCheck *check, const SloOutcome *out, TimestampTz at)
{
	const char *status = SloStatusName(out->status);
	char	   *payload = SloAlertPayload(event, alert_id, check, status,
										  out->has_value, out->value, out->summary, at);
	Oid			types[8] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *sql;
	int64		event_id;
	bool		isnull;
	/* issue 12: a silenced event is stored (notified = false), never sent nor delivered */
	bool		notified = !SloSilenced(ext, check->name);

	values[0] = Int64GetDatum(alert_id);
	values[1] = CStringGetTextDatum(event);
	values[2] = TimestampTzGetDatum(at);
	values[3] = CStringGetTextDatum(status);
	values[4] = Float8GetDatum(out->value);
	if (!out->has_value)
		nulls[4] = 'n';
	values[5] = out->summary ? CStringGetTextDatum(out->summary) : (Datum) 0;
	if (!out->summary)
		nulls[5] = 'n';
	values[6] = CStringGetTextDatum(payload);
	values[7] = BoolGetDatum(notified);

	sql = psprintf("INSERT INTO %s.slo_alert_event "
				   "(alert_id, event, at, status, value, summary, notified, payload) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $8, $7::jsonb) RETURNING id", ext->nspname);
	if (SPI_execute_with_args(sql, 8, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not record alert event");
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (notified)
	{
		Async_Notify(slo_notify_channel, payload);
		/* issue 11: one delivery per matching target, in this transaction */
		SloDeliveryEnqueue(ext, event_id, alert_id, event, check->severity, payload);
	}
}

/*
 * Issue 13: an open alert whose result carries another severity (an
 * objective's burn rate moving from the P1 rule to the P2 rule, or back)
 * takes that severity and gets a new `firing` event with it, on the same
 * alert_id: receivers see one alert whose severity changed.
 */
static void
SloAlertChangeSeverity(const SloExtension *ext, const SloCheck *check, int64 alert_id,
					   const SloOutcome *out, TimestampTz at)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, FLOAT8OID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *sql;

	values[0] = Int64GetDatum(alert_id);
	values[1] = CStringGetTextDatum(out->severity);
	values[2] = CStringGetTextDatum(SloStatusName(out->status));
	values[3] = Float8GetDatum(out->value);
	if (!out->has_value)
		nulls[3] = 'n';
	values[4] = out->summary ? CStringGetTextDatum(out->summary) : (Datum) 0;
	if (!out->summary)
		nulls[4] = 'n';
	sql = psprintf("UPDATE %s.slo_alert SET severity = $2, status = $3, value = $4, summary = $5 "
				   "WHERE id = $1 AND state = 'firing' AND severity <> $2", ext->nspname);
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not change the alert's severity");
	if (SPI_processed == 1)
		RecordEvent(ext, "firing", alert_id, check, out, at);
}

void
SloAlertApply(const SloExtension *ext, const SloCheck *check, SloAlertState *state,
			  const SloOutcome *out, TimestampTz at)
{
	bool		bad = (out->status == SLO_FAIL || out->status == SLO_ERROR);
	SloCheck	eff;

	/* issue 13: an outcome may carry the alert's severity (objectives' burn rates) */
	if (out->severity != NULL && strcmp(out->severity, check->severity) != 0)
	{
		eff = *check;
		eff.severity = (char *) out->severity;
		check = &eff;
	}

	if (bad)
	{
		if (state->fail_streak == 0)
			state->first_fail_at = at;
		state->fail_streak++;
		if (state->alert_id != 0 && out->severity != NULL)
			SloAlertChangeSeverity(ext, check, state->alert_id, out, at);
		if (state->alert_id == 0 && state->fail_streak >= check->fail_after)
		{
			Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
			TEXTOID, FLOAT8OID, TEXTOID};
			Datum		values[8];
			char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
			char	   *sql;
			bool		isnull;

			values[0] = Int64GetDatum(check->id);
			values[1] = CStringGetTextDatum(check->name);
			values[2] = CStringGetTextDatum(check->severity);
			values[3] = TimestampTzGetDatum(state->first_fail_at);
			values[4] = TimestampTzGetDatum(at);
			values[5] = CStringGetTextDatum(SloStatusName(out->status));
			values[6] = Float8GetDatum(out->value);
			if (!out->has_value)
				nulls[6] = 'n';
			values[7] = out->summary ? CStringGetTextDatum(out->summary) : (Datum) 0;
			if (!out->summary)
				nulls[7] = 'n';
			sql = psprintf("INSERT INTO %s.slo_alert "
						   "(check_id, check_name, severity, state, detected_at, fired_at, status, value, summary) "
						   "VALUES ($1, $2, $3, 'firing', $4, $5, $6, $7, $8) RETURNING id",
						   ext->nspname);
			if (SPI_execute_with_args(sql, 8, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
				SPI_processed != 1)
				elog(ERROR, "slo_guard: could not open alert");
			state->alert_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull));
			RecordEvent(ext, "firing", state->alert_id, check, out, at);
		}
		return;
	}

	if (state->alert_id != 0)
	{
		Oid			types[5] = {INT8OID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID, TEXTOID};
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		char	   *sql;

		values[0] = Int64GetDatum(state->alert_id);
		values[1] = TimestampTzGetDatum(at);
		values[2] = CStringGetTextDatum(SloStatusName(out->status));
		values[3] = Float8GetDatum(out->value);
		if (!out->has_value)
			nulls[3] = 'n';
		values[4] = out->summary ? CStringGetTextDatum(out->summary) : (Datum) 0;
		if (!out->summary)
			nulls[4] = 'n';
		sql = psprintf("UPDATE %s.slo_alert SET state = 'resolved', resolved_at = $2, "
					   "status = $3, value = $4, summary = $5 WHERE id = $1 RETURNING severity",
					   ext->nspname);
		if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "slo_guard: could not resolve alert");
		/* issue 13: an alert whose severity moved (objectives) resolves with its last one */
		if (SPI_processed == 1 && check->kind == &SloKindObjective)
		{
			eff = *check;
			eff.severity = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			check = &eff;
		}
		RecordEvent(ext, "resolved", state->alert_id, check, out, at);
	}
	state->fail_streak = 0;
	state->first_fail_at = 0;
	state->alert_id = 0;
}

/*
 * Resolve a check's open alert for a reason other than a result: the check
 * was disabled or is being dropped.  The `resolved` event (summary: reason)
 * is recorded and notified exactly as a result's would be, so nothing stays
 * open downstream.  The check's state forgets the alert and its failure
 * streak.  Call inside a bookkeeping section with SPI connected, holding the
 * check's state row (the lock order of slo_alter_check/slo_drop_check).
 * Returns the resolved alert's id, or 0 if none was open.
 */
int64
SloAlertResolveManual(const SloExtension *ext, int64 check_id, const char *reason)
{
	Oid			types[3] = {INT8OID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[3];
	char	   *sql;
	int64		alert_id = 0;
	TimestampTz at = GetCurrentTimestamp();

	values[0] = Int64GetDatum(check_id);
	sql = psprintf("SELECT a.id, c.name, c.kind, c.severity, c.labels, a.status, a.value "
				   "FROM %s.slo_alert a JOIN %s.slo_check c ON c.id = a.check_id "
				   "WHERE a.check_id = $1 AND a.state = 'firing' FOR UPDATE OF a",
				   ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read open alert");
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SloCheck	check;
		SloOutcome	out;
		bool		isnull;
		Datum		d;
		char	   *kindname;

		memset(&check, 0, sizeof(check));
		memset(&out, 0, sizeof(out));
		out.cxt = CurrentMemoryContext;
		alert_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		check.id = check_id;
		check.ext = ext;
		check.name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		kindname = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		check.kind = SloFindKind(kindname);
		check.severity = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
		check.labels = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull));
		if (!SloStatusFromName(TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull)),
							   &out.status))
			out.status = SLO_FAIL;
		d = SPI_getbinval(tup, desc, 7, &isnull);
		out.has_value = !isnull;
		out.value = isnull ? 0 : DatumGetFloat8(d);
		out.summary = pstrdup(reason);

		values[0] = Int64GetDatum(alert_id);
		values[1] = TimestampTzGetDatum(at);
		values[2] = CStringGetTextDatum(reason);
		sql = psprintf("UPDATE %s.slo_alert SET state = 'resolved', resolved_at = $2, "
					   "summary = $3 WHERE id = $1", ext->nspname);
		if (SPI_execute_with_args(sql, 3, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "slo_guard: could not resolve alert");
		RecordEvent(ext, "resolved", alert_id, &check, &out, at);
	}

	values[0] = Int64GetDatum(check_id);
	sql = psprintf("UPDATE %s.slo_check_state SET alert_id = NULL WHERE check_id = $1",
				   ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not update check state");
	return alert_id;
}

/*
 * Issue 12 (on-call): record an event of an existing alert that no result
 * caused (acknowledged, escalated, a firing held back by a silence), through
 * the one event writer, so it is notified and delivered like the others.
 */
void
SloAlertRecordEvent(const SloExtension *ext, const char *event, int64 alert_id,
					const SloCheck *check, const SloOutcome *out, TimestampTz at)
{
	RecordEvent(ext, event, alert_id, check, out, at);
}
