/*-------------------------------------------------------------------------
 * replication.c
 *	  Check kind "replication_lag": is every standby keeping up, and is an
 *	  abandoned replication slot filling the disk with WAL?
 *
 *	  On a primary:
 *	    - each WAL sender in pg_stat_replication (physical standbys and
 *	      logical subscribers alike) fails when its replay_lag exceeds
 *	      max_lag.  replay_lag keeps growing while a standby's replay is
 *	      stuck (the WAL sender interpolates it on every standby reply), and
 *	      is NULL once a standby has caught up with an idle primary, which is
 *	      no lag.  The bytes behind (current WAL position minus the replay
 *	      position) go into the summary and detail;
 *	    - each inactive slot in pg_replication_slots fails when it retains
 *	      more than slot_max_bytes of WAL (from its restart_lsn), or when it
 *	      has already lost the WAL it needed (wal_status "lost");
 *	    - no standbys and no slots is ok.
 *	  On a standby (pg_is_in_recovery()):
 *	    - when everything received has been replayed there is no lag, however
 *	      old the last replayed transaction is: an idle primary writes
 *	      nothing, so nothing is behind;
 *	    - otherwise the lag is now() - pg_last_xact_replay_timestamp(), the
 *	      age of the last transaction replayed while more WAL waits.  (Right
 *	      after a long idle spell, the first new transaction reads as lagging
 *	      until it is replayed, usually within milliseconds; fail_after 2
 *	      absorbs that.)
 *	    - a standby whose WAL receiver is not streaming is a warning: its lag
 *	      cannot be measured while its primary may be moving on.
 *	  On a standby slo_run_checks() runs checks read-only (results are
 *	  returned, not stored), which is how this branch is read.
 *
 *	  value: the worst replay lag in seconds.  Needs pg_read_all_stats: the
 *	  lag columns of pg_stat_replication are hidden from other roles.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/json.h"

#include "extension.h"
#include "kind.h"

#define KIND_NAME "replication_lag"

/* The MachineMate runbook's "sync lag < 2 minutes". */
#define MAX_LAG_DEFAULT_MS (2 * 60 * 1000)
/* An abandoned slot holding 1 GB of WAL is worth a look before the disk fills. */
#define SLOT_MAX_BYTES_DEFAULT (1024.0 * 1024 * 1024)

/* How many standbys or slots the detail lists at most. */
#define MAX_LISTED 20

static const SloParam params[] = {
	{"max_lag", SLO_PARAM_INTERVAL, false, SLO_INTERVAL_SECOND_TO_YEAR},
	{"slot_max_bytes", SLO_PARAM_INTEGER, false, 0, DBL_MAX},
	SLO_PARAM_END
};

/* "812 B", "3.2 MB" (binary units, as pg_size_pretty). */
static char *
Bytes(double b)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int			u = 0;

	if (b < 0)
		b = 0;
	while (b >= 1024 && u < (int) lengthof(units) - 1)
	{
		b /= 1024;
		u++;
	}
	return u == 0 ? psprintf("%.0f B", b) : psprintf("%.1f %s", b, units[u]);
}

/* Run one of the kind's queries through a plan kept for the backend. */
static void
RunQuery(SPIPlanPtr *plan, const char *sql)
{
	SloKeptQuery(plan, sql, 0, NULL, NULL);
}

static void
JsonTextOrNull(StringInfo buf, const char *s)
{
	if (s)
		escape_json(buf, s);
	else
		appendStringInfoString(buf, "null");
}

/*
 * Primary side.  A standby is named by application_name (its
 * primary_conninfo's, or cluster_name), else its address, else its pid.
 */
static SPIPlanPtr standbys_sql_plan = NULL;
static const char *standbys_sql =
"SELECT coalesce(nullif(application_name, ''), client_addr::text, pid::text),"
"       state, sync_state,"
"       extract(epoch FROM replay_lag)::float8,"
"       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)::float8"
"  FROM pg_catalog.pg_stat_replication"
" ORDER BY replay_lag DESC NULLS LAST, 5 DESC NULLS LAST, 1";

static SPIPlanPtr slots_sql_plan = NULL;
static const char *slots_sql =
"SELECT slot_name::text, slot_type, wal_status,"
"       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::float8"
"  FROM pg_catalog.pg_replication_slots WHERE NOT active"
" ORDER BY wal_status = 'lost' DESC, 4 DESC NULLS LAST, 1";

static void
RunPrimary(double max_s, double slot_max, SloOutcome *out)
{
	StringInfoData detail;
	uint64		nstandbys;
	double		worst = 0;
	int			nlagging = 0,
				nslots_bad = 0;
	uint64		nslots;
	char	   *first_problem = NULL;
	char	   *worst_name = NULL;
	double		worst_bytes = 0;

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"role\": \"primary\", \"max_lag_s\": %s, \"slot_max_bytes\": %.0f, \"standbys\": [",
					 float8out_internal(max_s), slot_max);

	RunQuery(&standbys_sql_plan, standbys_sql);
	nstandbys = SPI_processed;
	for (uint64 i = 0; i < nstandbys; i++)
	{
		bool		lag_null,
					bytes_null;
		double		lag = SloColFloat(i, 4, &lag_null);
		double		bytes = SloColFloat(i, 5, &bytes_null);
		char	   *name = SloColText(i, 1);

		if (i == 0)
		{
			worst = lag;
			worst_name = name;
			worst_bytes = bytes;
		}
		if (lag > max_s)
		{
			nlagging++;
			if (first_problem == NULL)
				first_problem = psprintf("Standby %s is %s behind in replay (%s of WAL), more than the %s allowed",
										 name, SloFormatDuration(lag), Bytes(bytes),
										 SloFormatDuration(max_s));
		}
		if (i < MAX_LISTED)
		{
			appendStringInfoString(&detail, i ? ", {\"name\": " : "{\"name\": ");
			escape_json(&detail, name);
			appendStringInfoString(&detail, ", \"state\": ");
			JsonTextOrNull(&detail, SloColText(i, 2));
			appendStringInfoString(&detail, ", \"sync_state\": ");
			JsonTextOrNull(&detail, SloColText(i, 3));
			appendStringInfoString(&detail, ", \"replay_lag_s\": ");
			appendStringInfoString(&detail, lag_null ? "null" : psprintf("%.3f", lag));
			appendStringInfoString(&detail, ", \"bytes_behind\": ");
			appendStringInfoString(&detail, bytes_null ? "null" : psprintf("%.0f", bytes));
			appendStringInfoString(&detail, "}");
		}
	}

	appendStringInfoString(&detail, "], \"inactive_slots\": [");
	RunQuery(&slots_sql_plan, slots_sql);
	nslots = SPI_processed;
	for (uint64 i = 0; i < nslots; i++)
	{
		bool		bytes_null;
		double		bytes = SloColFloat(i, 4, &bytes_null);
		char	   *slot = SloColText(i, 1);
		char	   *wal_status = SloColText(i, 3);
		bool		lost = wal_status && strcmp(wal_status, "lost") == 0;
		char	   *problem = NULL;

		if (lost)
			problem = psprintf("Inactive replication slot %s has lost WAL its consumer still needed (re-sync the consumer, then drop or recreate the slot)",
							   slot);
		else if (!bytes_null && bytes > slot_max)
			problem = psprintf("Inactive replication slot %s retains %s of WAL, more than the %s allowed (drop it or reconnect its consumer)",
							   slot, Bytes(bytes), Bytes(slot_max));
		if (problem)
		{
			nslots_bad++;
			if (first_problem == NULL)
				first_problem = problem;
		}
		if (i < MAX_LISTED)
		{
			appendStringInfoString(&detail, i ? ", {\"slot\": " : "{\"slot\": ");
			escape_json(&detail, slot);
			appendStringInfoString(&detail, ", \"type\": ");
			JsonTextOrNull(&detail, SloColText(i, 2));
			appendStringInfoString(&detail, ", \"wal_status\": ");
			JsonTextOrNull(&detail, wal_status);
			appendStringInfoString(&detail, ", \"retained_bytes\": ");
			appendStringInfoString(&detail, bytes_null ? "null" : psprintf("%.0f", bytes));
			appendStringInfoString(&detail, "}");
		}
	}
	appendStringInfoString(&detail, "]}");
	SloOutcomeDetail(out, detail.data);

	if (first_problem)
	{
		int			others = nlagging + nslots_bad - 1;

		SloOutcomeSet(out, SLO_FAIL, true, worst, "%s%s.", first_problem,
					  others > 0 ? psprintf("; %d more standby or slot problem%s", others,
											others > 1 ? "s" : "") : "");
	}
	else if (nstandbys == 0)
		SloOutcomeSet(out, SLO_OK, true, 0, "No standbys attached%s.",
					  nslots > 0 ?
					  psprintf(", and no inactive slot retains more than %s of WAL",
							   Bytes(slot_max)) : "");
	else if (nstandbys == 1)
		SloOutcomeSet(out, SLO_OK, true, worst,
					  "Standby %s is %s behind in replay (%s of WAL), within the %s allowed.",
					  worst_name, SloFormatDuration(worst), Bytes(worst_bytes),
					  SloFormatDuration(max_s));
	else
		SloOutcomeSet(out, SLO_OK, true, worst,
					  "All %d standbys are within the %s allowed; the furthest behind, %s, is %s behind (%s of WAL).",
					  (int) nstandbys, SloFormatDuration(max_s), worst_name,
					  SloFormatDuration(worst), Bytes(worst_bytes));
}

/*
 * Standby side.  receive_lsn is NULL when WAL comes from the archive only;
 * then the replay timestamp is the only measure there is.
 */
static SPIPlanPtr standby_sql_plan = NULL;
static const char *standby_sql =
"SELECT pg_catalog.pg_last_wal_receive_lsn() IS NOT NULL"
"         AND pg_catalog.pg_last_wal_receive_lsn() <= pg_catalog.pg_last_wal_replay_lsn(),"
"       extract(epoch FROM pg_catalog.clock_timestamp()"
"                          - pg_catalog.pg_last_xact_replay_timestamp())::float8,"
"       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(),"
"                                  pg_catalog.pg_last_wal_replay_lsn())::float8,"
"       pg_catalog.pg_is_wal_replay_paused(),"
"       (SELECT status FROM pg_catalog.pg_stat_wal_receiver)";

static void
RunStandby(double max_s, SloOutcome *out)
{
	bool		caught_up,
				since_null,
				bytes_null,
				paused;
	double		since,
				bytes;
	char	   *receiver;
	bool		streaming;
	const char *paused_note;
	StringInfoData detail;

	RunQuery(&standby_sql_plan, standby_sql);
	caught_up = SloColBool(0, 1);
	since = SloColFloat(0, 2, &since_null);
	bytes = SloColFloat(0, 3, &bytes_null);
	paused = SloColBool(0, 4);
	receiver = SloColText(0, 5);
	streaming = receiver && strcmp(receiver, "streaming") == 0;
	paused_note = paused ? " (replay is paused: pg_wal_replay_resume() resumes it)" : "";

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"role\": \"standby\", \"max_lag_s\": %s, \"caught_up\": %s, "
					 "\"last_replay_age_s\": %s, \"unreplayed_bytes\": %s, \"replay_paused\": %s, "
					 "\"wal_receiver\": ",
					 float8out_internal(max_s), caught_up ? "true" : "false",
					 since_null ? "null" : psprintf("%.3f", since),
					 bytes_null ? "null" : psprintf("%.0f", bytes),
					 paused ? "true" : "false");
	JsonTextOrNull(&detail, receiver);
	appendStringInfoString(&detail, "}");
	SloOutcomeDetail(out, detail.data);

	if (caught_up)
	{
		if (streaming)
			SloOutcomeSet(out, SLO_OK, true, 0,
						  "This standby has replayed all the WAL it received, so it is not behind%s.",
						  since_null || since <= max_s ? "" :
						  psprintf(" (its last replayed transaction is %s old: the primary has been idle)",
								   SloFormatDuration(since)));
		else
			SloOutcomeSet(out, SLO_WARN, true, 0,
						  "This standby has replayed all the WAL it received but is not streaming from its primary (WAL receiver %s), so it may be falling behind unseen.",
						  receiver ? receiver : "not running");
		return;
	}
	if (since_null)
	{
		SloOutcomeSet(out, SLO_WARN, false, 0,
					  "This standby has %s of WAL not yet replayed and has replayed no transaction since it started, so its lag cannot be measured yet%s.",
					  bytes_null ? "an unknown amount" : Bytes(bytes), paused_note);
		return;
	}
	if (since > max_s)
		SloOutcomeSet(out, SLO_FAIL, true, since,
					  "This standby is %s behind its primary in replay (%s of WAL received but not replayed), more than the %s allowed%s.",
					  SloFormatDuration(since), bytes_null ? "WAL from the archive" : Bytes(bytes),
					  SloFormatDuration(max_s), paused_note);
	else if (!streaming && !bytes_null)
		SloOutcomeSet(out, SLO_WARN, true, since,
					  "This standby is %s behind in replay but is not streaming from its primary (WAL receiver %s).",
					  SloFormatDuration(since), receiver ? receiver : "not running");
	else
		SloOutcomeSet(out, SLO_OK, true, since,
					  "This standby is %s behind its primary in replay, within the %s allowed%s.",
					  SloFormatDuration(since), SloFormatDuration(max_s), paused_note);
}

static void
replication_lag_run(const SloCheck *check, SloOutcome *out)
{
	int64		max_ms = MAX_LAG_DEFAULT_MS;
	double		slot_max = SLOT_MAX_BYTES_DEFAULT;
	int			nest;

	SloRunParams(check);
	(void) SloParamIntervalMs(check->params, "max_lag", &max_ms);
	(void) SloParamNumber(check->params, "slot_max_bytes", &slot_max);

	nest = SloPushSearchPath("pg_catalog, pg_temp");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (RecoveryInProgress())
		RunStandby(max_ms / 1000.0, out);
	else
		RunPrimary(max_ms / 1000.0, slot_max, out);
	SPI_finish();
	AtEOXact_GUC(true, nest);
}

const SloKind SloKindReplicationLag = {
	.name = KIND_NAME,
	.description = "on a primary, fails when a standby's replay lag exceeds max_lag (2 minutes) or an inactive slot retains more than slot_max_bytes (1 GB) of WAL; on a standby, when its own replay lags (an idle primary is no lag); value = worst lag in seconds",
	.params = params,
	.validate = NULL,
	.run = replication_lag_run,
	.needs_stats = true,
};
