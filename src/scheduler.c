/*-------------------------------------------------------------------------
 * scheduler.c
 *	  The per-database worker ("slo_guard") and its run workers ("slo_guard
 *	  runner").
 *
 *	  The per-database worker, started by the launcher (launcher.c), is a
 *	  small scheduler of timed jobs: a table of jobs (name, next due time,
 *	  interval, failures in a row, back-off), each run in its own
 *	  transaction(s) with its own error handling: a job that fails is
 *	  reported, rolled back and retried after a growing back-off, and never
 *	  kills the worker or delays the other jobs' schedule.  The jobs now:
 *	  due checks, trimming slo_result (slo_guard.result_retention) and
 *	  trimming resolved alerts (slo_guard.alert_retention); deliveries,
 *	  escalation and rollups are one row each to come.  It sleeps on its
 *	  latch until the earliest job is due, at most slo_guard.naptime; a
 *	  backend that changes checks wakes it at commit (wake.c).
 *
 *	  Checks run in small batches, each committed at once (SloRunDueBatch:
 *	  at most SLO_BATCH_CHECKS checks or SLO_BATCH_BUDGET_MS, or one slow
 *	  check alone), so a check's result, alert transition and NOTIFY go out
 *	  as soon as it has run.  So that one slow check does not hold up the
 *	  others, the worker keeps slo_guard.max_workers - 1 run workers
 *	  (dynamic background workers it starts and restarts, as the launcher
 *	  does for it) that do nothing but run due checks the same way.  Who
 *	  runs a check is decided by a row lock: each batch claims its checks'
 *	  slo_check_state rows FOR UPDATE SKIP LOCKED, so two processes never run
 *	  one check; the claim lives until the batch commits, and the claim of a
 *	  process that dies goes with its aborted transaction (a crash-restart of
 *	  the server included).
 *
 *	  The worker's own bookkeeping waits for locks with a bound: each job
 *	  transaction takes the locks its statements need (the extension,
 *	  slo_guard's tables) under a lock_timeout (SloLockTimeoutMs), before any
 *	  check runs; when one is not granted in time, the log says which lock
 *	  it waited for and who held it, and the job is retried after its
 *	  back-off.  The checks themselves keep their own timeouts.
 *
 *	  A schema of a version the library does not serve (1.0 under the 1.1
 *	  library) is logged once and waited out: nothing runs until ALTER
 *	  EXTENSION slo_guard UPDATE.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "delivery.h"
#include "extension.h"
#include "guc.h"
#include "launcher.h"
#include "oncall.h"
#include "run.h"
#include "scheduler.h"
#include "slo_guard.h"
#include "wake.h"

/* Rows deleted from slo_result (or alerts) per trim, and pause between trims. */
#define SLO_TRIM_BATCH			1000
#define SLO_TRIM_INTERVAL_MS	10000
/* Longest back-off after repeated failures (unless naptime is longer). */
#define SLO_MAX_BACKOFF_MS		60000
/* One batch of checks: at most this many, or this long (then it commits). */
#define SLO_BATCH_CHECKS		500
#define SLO_BATCH_BUDGET_MS		50
/* Longest a round of checks keeps the scheduler from its other jobs. */
#define SLO_CHECKS_ROUND_MS		1000
/* Upper bound of slo_guard.max_workers - 1. */
#define SLO_MAX_RUNNERS			32

/* A timed job of the scheduler. */
typedef struct SloJob
{
	const char *name;
	/*
	 * One round, in its own transaction(s).  Returns how long (ms) until the
	 * next round: 0 as soon as possible, < 0 after interval_ms.  It may
	 * ereport(ERROR): the scheduler rolls back and backs off.
	 */
	long		(*run) (void);
	long		interval_ms;
	TimestampTz next_due;
	int			failures;		/* in a row */
	long		backoff_ms;		/* after the last failure; 0 if none */
} SloJob;

static long JobChecks(void);
static long JobTrimResults(void);
static long JobTrimAlerts(void);
static long JobProbes(void);

static SloJob jobs[] = {
	{"checks", JobChecks, 0, 0, 0, 0},
	{"trim results", JobTrimResults, SLO_TRIM_INTERVAL_MS, 0, 0, 0},
	{"trim alerts", JobTrimAlerts, SLO_TRIM_INTERVAL_MS, 0, 0, 0},
	{"deliveries", SloDeliveryJob, 0, 0, 0, 0}, /* issue 11: src/delivery.c */
	{"probes", JobProbes, 0, 0, 0, 0},	/* issue 11: parked async checks, polled with no transaction open */
	{"on-call", SloOncallJob, 1000, 0, 0, 0},	/* issue 12: escalation, silence expiry (oncall.c) */
};

#define SLO_JOB_CHECKS (&jobs[0])

/* A run worker's jobs: due checks, and the asynchronous ones it parked. */
static SloJob runner_job = {"checks", JobChecks, 0, 0, 0, 0};
static SloJob runner_probes_job = {"probes", JobProbes, 0, 0, 0, 0};
/* This process's probes job (jobs[] or runner_probes_job). */
static SloJob *probes_job = NULL;

/* A lock a job takes (bounded) before its statements run. */
typedef struct SloTableLock
{
	const char *relname;
	LOCKMODE	mode;
} SloTableLock;

static const SloTableLock checks_locks[] = {
	{"slo_check", AccessShareLock},
	{"slo_check_state", RowExclusiveLock},
	{"slo_result", RowExclusiveLock},
	{"slo_alert", RowExclusiveLock},
	{"slo_alert_event", RowExclusiveLock},
	{NULL, NoLock}
};
static const SloTableLock trim_results_locks[] = {
	{"slo_result", RowExclusiveLock},
	{NULL, NoLock}
};
static const SloTableLock trim_alerts_locks[] = {
	{"slo_alert", RowExclusiveLock},
	{"slo_alert_event", RowExclusiveLock},
	{NULL, NoLock}
};

/* Process state (scheduler or run worker). */
static bool am_runner = false;
static int	runner_number = 0;
static pid_t my_scheduler = 0;
static char *worker_dbname = NULL;
static MemoryContext job_cxt = NULL;
static int	extension_seen = -1;	/* -1 unknown, 0 absent, 1 present */
static char *version_waiting = NULL;	/* schema version we wait to see updated */
static bool paused = false;

/* The lock being waited for (bounded), for the log line when it times out. */
static char lock_waiting_for[2 * NAMEDATALEN + 32];
static Oid	lock_waiting_relid = InvalidOid;

/* The scheduler's run workers. */
typedef struct SloRunner
{
	BackgroundWorkerHandle *handle; /* NULL if none running */
	TimestampTz stopped_at;		/* when we saw it gone; 0 if not known gone */
	bool		register_failed;
} SloRunner;

static SloRunner runners[SLO_MAX_RUNNERS];


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static const char *
WhoAmI(void)
{
	return am_runner ? "slo_guard runner" : "slo_guard worker";
}

/* Name the process and its database in any error raised during a job. */
static void
SloJobErrorContext(void *arg)
{
	errcontext("%s for database \"%s\"", WhoAmI(), worker_dbname);
}

/* Back-off after the n-th failure in a row: naptime, doubling, capped. */
static long
SloBackoffMs(int failures)
{
	long		ms = slo_naptime_ms;
	long		cap = Max(SLO_MAX_BACKOFF_MS, slo_naptime_ms);

	for (int i = 1; i < failures && ms < cap; i++)
		ms *= 2;
	return Min(ms, cap);
}

/* How long the worker's own statements wait for a lock: 5 naps, 1 to 5 s. */
static int
SloLockTimeoutMs(void)
{
	return Min(Max(5 * slo_naptime_ms, 1000), 5000);
}

static void
SloWaitingFor(Oid relid, const char *what)
{
	lock_waiting_relid = relid;
	strlcpy(lock_waiting_for, what ? what : "", sizeof(lock_waiting_for));
}

/* Log once when the extension appears in or leaves our database. */
static void
SloNoteExtension(bool found, const char *nspname)
{
	int			now_seen = found ? 1 : 0;

	if (am_runner || now_seen == extension_seen)
		return;
	if (found)
		ereport(LOG,
				(errmsg("slo_guard worker serving database \"%s\" (extension in schema %s)",
						worker_dbname, nspname)));
	else if (extension_seen == -1)
		ereport(LOG,
				(errmsg("slo_guard worker waiting for CREATE EXTENSION slo_guard in database \"%s\"",
						worker_dbname)));
	else
		ereport(LOG,
				(errmsg("slo_guard extension dropped from database \"%s\"; worker waiting",
						worker_dbname)));
	extension_seen = now_seen;
}

/* Say once per version that the schema is one the library does not serve. */
static void
SloNoteVersion(const SloExtension *ext, bool found)
{
	if (am_runner)
		return;
	if (found && !ext->version_ok)
	{
		if (version_waiting == NULL || strcmp(version_waiting, ext->version) != 0)
		{
			ereport(LOG,
					(errmsg("slo_guard worker for database \"%s\" waiting: %s's schema is version %s but the library is %s",
							worker_dbname, SLO_EXTENSION_NAME, ext->version, SLO_LIBRARY_VERSION),
					 errhint("Run ALTER EXTENSION %s UPDATE.", SLO_EXTENSION_NAME)));
			if (version_waiting)
				pfree(version_waiting);
			version_waiting = MemoryContextStrdup(TopMemoryContext, ext->version);
		}
	}
	else if (version_waiting != NULL)
	{
		pfree(version_waiting);
		version_waiting = NULL;
	}
}

/*
 * Start a job's transaction and find slo_guard, taking the locks the job's
 * statements need (the extension, then the tables in locks) with
 * lock_timeout = SloLockTimeoutMs(): a lock held elsewhere makes the job fail
 * (and log what it waited for) instead of stalling it.  Returns true if the
 * extension is there and of the library's version; *found says whether it is
 * there at all.  The lock_timeout ends before any check runs.
 */
static bool
SloBeginJobXact(SloExtension *ext, const SloTableLock *locks, bool *found_out)
{
	char		ms[32];
	int			nest;
	bool		found;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	nest = NewGUCNestLevel();
	snprintf(ms, sizeof(ms), "%d", SloLockTimeoutMs());
	(void) set_config_option("lock_timeout", ms, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SloWaitingFor(InvalidOid, "extension " SLO_EXTENSION_NAME);
	found = SloFindExtension(ext);
	if (found && ext->version_ok)
	{
		for (const SloTableLock *l = locks; l->relname != NULL; l++)
		{
			Oid			relid = get_relname_relid(l->relname, ext->nspoid);
			char		what[sizeof(lock_waiting_for)];

			if (!OidIsValid(relid))
				continue;		/* the job's own statement says so */
			snprintf(what, sizeof(what), "relation %s.%s", ext->nspname, l->relname);
			SloWaitingFor(relid, what);
			LockRelationOid(relid, l->mode);
		}
	}
	SloWaitingFor(InvalidOid, NULL);
	AtEOXact_GUC(true, nest);

	{
		/* these lines speak for themselves: no "worker for database" context */
		ErrorContextCallback *saved = error_context_stack;

		error_context_stack = NULL;
		SloNoteVersion(ext, found);
		if (!found || ext->version_ok)
			SloNoteExtension(found, found ? ext->nspname : NULL);
		error_context_stack = saved;
	}
	*found_out = found;
	return found && ext->version_ok;
}

static void
SloEndJobXact(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	MemoryContextSwitchTo(job_cxt);
}

/*
 * Who holds a lock on relid now (other than us): "PID 123 (AccessExclusiveLock)"
 * for the log line; "" if nobody (any more) or if it cannot be told.
 */
static char *
SloLockHolders(Oid relid)
{
	char	   *volatile result = "";
	MemoryContext cxt = CurrentMemoryContext;

	if (!OidIsValid(relid))
		return result;
	PG_TRY();
	{
		Oid			types[2] = {OIDOID, OIDOID};
		Datum		values[2] = {ObjectIdGetDatum(MyDatabaseId), ObjectIdGetDatum(relid)};

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT pg_catalog.string_agg(pg_catalog.format('PID %s (%s)', pid, mode), ', ' ORDER BY pid)"
								  "  FROM pg_catalog.pg_locks"
								  " WHERE locktype = 'relation' AND database = $1 AND relation = $2"
								  "   AND granted AND pid <> pg_catalog.pg_backend_pid()",
								  2, types, values, NULL, true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (s != NULL)
				result = MemoryContextStrdup(cxt, psprintf(", held by %s", s));
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		AbortOutOfAnyTransaction();
		result = "";
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return result;
}

/*
 * Run one round of a job: its error handling, back-off and next due time.
 * Returns true if it ran without error.
 */
static bool
SloRunJob(SloJob *job)
{
	volatile long next_ms = -1;
	volatile bool failed = false;
	volatile bool lock_timed_out = false;
	char		what[sizeof(lock_waiting_for)];
	volatile Oid relid = InvalidOid;
	ErrorContextCallback errcb;
	TimestampTz now;

	MemoryContextReset(job_cxt);
	MemoryContextSwitchTo(job_cxt);

	errcb.callback = SloJobErrorContext;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	PG_TRY();
	{
		char		activity[64];

		snprintf(activity, sizeof(activity), "slo_guard: %s", job->name);
		pgstat_report_activity(STATE_RUNNING, activity);
		next_ms = job->run();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(job_cxt);
		edata = CopyErrorData();
		/* a lock of our own bookkeeping not granted in time: say which, below */
		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE && lock_waiting_for[0] != '\0')
		{
			lock_timed_out = true;
			strlcpy(what, lock_waiting_for, sizeof(what));
			relid = lock_waiting_relid;
		}
		else
			EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		RESUME_INTERRUPTS();
		failed = true;
	}
	PG_END_TRY();

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(job_cxt);
	SloWaitingFor(InvalidOid, NULL);
	pgstat_report_activity(STATE_IDLE, NULL);
	now = GetCurrentTimestamp();

	if (!failed)
	{
		job->failures = 0;
		job->backoff_ms = 0;
		job->next_due = TimestampTzPlusMilliseconds(now, next_ms < 0 ? job->interval_ms : next_ms);
		return true;
	}

	job->failures++;
	job->backoff_ms = SloBackoffMs(job->failures);
	job->next_due = TimestampTzPlusMilliseconds(now, job->backoff_ms);
	if (lock_timed_out)
	{
		/* looked up first: it runs a transaction of its own */
		char	   *holders = SloLockHolders(relid);

		ereport(LOG,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("%s for database \"%s\": job \"%s\" waited %d ms for a lock on %s%s; retrying in %ld ms",
						WhoAmI(), worker_dbname, job->name, SloLockTimeoutMs(), what,
						holders, job->backoff_ms),
				 errhint("A long LOCK TABLE or DDL on slo_guard's objects holds up the worker.")));
	}
	else if (job->run == JobChecks)
		ereport(LOG,
				(errmsg("%s for database \"%s\": pass failed, retrying in %ld ms",
						WhoAmI(), worker_dbname, job->backoff_ms)));
	else
		ereport(LOG,
				(errmsg("%s for database \"%s\": job \"%s\" failed, retrying in %ld ms",
						WhoAmI(), worker_dbname, job->name, job->backoff_ms)));
	return false;
}


/* ---------------------------------------------------------------------
 * Jobs
 * ---------------------------------------------------------------------
 */

/*
 * Asynchronous checks (http probes) that a batch started and parked: poll
 * them with NO transaction open (network I/O only), then finish the done
 * ones in a new transaction (result, state, alert, NOTIFY).  Returns how
 * long until they want polling again; naptime when none is in flight.
 */
static long
JobProbes(void)
{
	long		wait;

	if (SloAsyncInFlight() == 0)
		return slo_naptime_ms;
	Assert(!IsTransactionState());
	wait = SloAsyncPoll();
	if (wait == 0)
	{
		SloExtension ext;
		bool		found;

		if (SloBeginJobXact(&ext, checks_locks, &found))
			(void) SloAsyncFinish(&ext);
		else
			SloAsyncDrop();
		SloEndJobXact();
		if (SloAsyncInFlight() == 0)
			return slo_naptime_ms;
		wait = SloAsyncPoll();
	}
	return wait < 0 ? slo_naptime_ms : wait;
}

/*
 * Due checks: batches of SloRunDueBatch, each committed at once, until none
 * is due (or the round has taken SLO_CHECKS_ROUND_MS: then again at once,
 * after the scheduler's other jobs).  Returns ms until the next check is due
 * (at most naptime).
 */
static long
JobChecks(void)
{
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz next_due = DT_NOEND;
	TimestampTz now;
	int			total = 0;

	if (!slo_enabled || RecoveryInProgress())
		return slo_naptime_ms;

	for (;;)
	{
		SloExtension ext;
		bool		found;
		int			n;

		if (!SloBeginJobXact(&ext, checks_locks, &found))
		{
			SloEndJobXact();
			return slo_naptime_ms;
		}
		n = SloRunDueBatch(&ext, SLO_BATCH_CHECKS, SLO_BATCH_BUDGET_MS, &next_due);
		SloEndJobXact();
		total += n;
		/* asynchronous checks were parked: set them going now, no transaction open */
		if (SloAsyncInFlight() > 0)
		{
			(void) SloAsyncPoll();
			if (probes_job)
				probes_job->next_due = 0;
		}
		if (n == 0)
			break;
		/* a signal to act on, or other jobs waiting: come back at once */
		if (ConfigReloadPending || ShutdownRequestPending ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), SLO_CHECKS_ROUND_MS))
			return 0;
		CHECK_FOR_INTERRUPTS();
	}

	if (next_due == DT_NOEND)
		return slo_naptime_ms;
	now = GetCurrentTimestamp();
	if (next_due <= now)
	{
		/*
		 * Due already but not run here: it fell due after the claim, or it is
		 * locked by a session that is not running it; look again shortly,
		 * without spinning.
		 */
		return total > 0 ? 0 : Min(slo_naptime_ms, 50);
	}
	/* round up, so that we never wake a hair before it is due */
	return (long) Min((int64) slo_naptime_ms, (next_due - now + 999) / 1000);
}

/* Run one trim statement (a DELETE) as the extension owner; rows deleted. */
static uint64
SloTrimBatch(const SloExtension *ext, const char *sql, const char *table)
{
	SloBookkeeping bk;
	uint64		deleted;
	int			ret;

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	SloEnterBookkeeping(ext, &bk);
	ret = SPI_execute(sql, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not trim %s: %s", table, SPI_result_code_string(ret));
	deleted = SPI_processed;
	SloLeaveBookkeeping(&bk);
	SPI_finish();
	return deleted;
}

/*
 * Delete one batch of results older than slo_guard.result_retention.  Only
 * the oldest SLO_TRIM_BATCH rows by id are looked at, through the primary
 * key, so a trim costs the same however large the table is and whether or
 * not anything is old (ids grow with time; a row the batch misses is caught
 * once the rows before it have aged out).  Returns the number deleted.
 */
static uint64
SloTrimResults(const SloExtension *ext)
{
	return SloTrimBatch(ext, psprintf("DELETE FROM %s.slo_result WHERE id = ANY (ARRAY("
									  "SELECT id FROM (SELECT id, at FROM %s.slo_result ORDER BY id LIMIT %d) oldest"
									  " WHERE at < now() - make_interval(secs => %d)))",
									  ext->nspname, ext->nspname, SLO_TRIM_BATCH,
									  slo_result_retention_s),
						"slo_result");
}

/*
 * Delete one batch of resolved alerts whose resolved_at is older than
 * slo_guard.alert_retention, oldest first through the partial index on
 * resolved_at; their events go with them (ON DELETE CASCADE).  Open alerts
 * are never trimmed.  Returns the number of alerts deleted.
 */
static uint64
SloTrimAlerts(const SloExtension *ext)
{
	return SloTrimBatch(ext, psprintf("DELETE FROM %s.slo_alert WHERE id = ANY (ARRAY("
									  "SELECT id FROM %s.slo_alert WHERE state = 'resolved'"
									  " AND resolved_at < now() - make_interval(secs => %d)"
									  " ORDER BY resolved_at LIMIT %d))",
									  ext->nspname, ext->nspname, slo_alert_retention_s,
									  SLO_TRIM_BATCH),
						"slo_alert");
}

/* One trim job round: a full batch means more is waiting, so again at once. */
static long
SloTrimJob(const SloTableLock *locks, uint64 (*trim) (const SloExtension *), const char *what)
{
	SloExtension ext;
	bool		found;
	uint64		deleted = 0;

	if (SloBeginJobXact(&ext, locks, &found))
		deleted = trim(&ext);
	SloEndJobXact();
	if (deleted > 0)
		elog(DEBUG1, "slo_guard trimmed " UINT64_FORMAT " %s in database \"%s\"",
			 deleted, what, worker_dbname);
	return deleted >= SLO_TRIM_BATCH ? 0 : -1;
}

static long
JobTrimResults(void)
{
	return SloTrimJob(trim_results_locks, SloTrimResults, "results");
}

static long
JobTrimAlerts(void)
{
	return SloTrimJob(trim_alerts_locks, SloTrimAlerts, "resolved alerts");
}


/* ---------------------------------------------------------------------
 * Run workers
 * ---------------------------------------------------------------------
 */

static BackgroundWorkerHandle *
SloStartRunner(int i, bool warn)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			number = i + 1;

	/* we restart it ourselves, as the launcher does for us */
	SloFillWorker(&worker, "SloRunnerMain", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "slo_guard runner %d for database %s",
			 number, worker_dbname);
	strlcpy(worker.bgw_type, "slo_guard runner", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	memcpy(worker.bgw_extra, &MyProcPid, sizeof(pid_t));
	memcpy(worker.bgw_extra + sizeof(pid_t), &number, sizeof(int));
	/* wake us when it starts or stops */
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		if (warn)
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start slo_guard run worker %d for database \"%s\"",
							number, worker_dbname),
					 errdetail("All %d background worker slots are in use.", max_worker_processes),
					 errhint("Raise max_worker_processes or lower slo_guard.max_workers (now %d); the worker retries every %d seconds.",
							 slo_max_workers, SLO_RESTART_SECONDS)));
		return NULL;
	}
	return handle;
}

/*
 * Keep slo_guard.max_workers - 1 run workers (none while paused): start the
 * missing ones, at once if they never ran, SLO_RESTART_SECONDS after one
 * stopped; stop those beyond the setting.  Lowers *wait_ms to when a restart
 * is due.
 */
static void
SloManageRunners(bool active, long *wait_ms)
{
	int			want = active ? Min(slo_max_workers - 1, SLO_MAX_RUNNERS) : 0;
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < SLO_MAX_RUNNERS; i++)
	{
		SloRunner  *r = &runners[i];

		if (r->handle != NULL)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(r->handle, &pid) == BGWH_STOPPED)
			{
				pfree(r->handle);
				r->handle = NULL;
				r->stopped_at = now;
			}
		}
		if (i >= want)
		{
			if (r->handle != NULL)
			{
				TerminateBackgroundWorker(r->handle);
				pfree(r->handle);
				r->handle = NULL;
			}
			r->stopped_at = 0;
			r->register_failed = false;
			continue;
		}
		if (r->handle != NULL)
			continue;
		if (r->stopped_at != 0 &&
			!TimestampDifferenceExceeds(r->stopped_at, now, SLO_RESTART_SECONDS * 1000))
		{
			TimestampTz due = TimestampTzPlusMilliseconds(r->stopped_at, SLO_RESTART_SECONDS * 1000);

			*wait_ms = Min(*wait_ms, TimestampDifferenceMilliseconds(now, due) + 1);
			continue;
		}
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			r->handle = SloStartRunner(i, !r->register_failed);
			MemoryContextSwitchTo(old);
		}
		r->register_failed = (r->handle == NULL);
		r->stopped_at = r->register_failed ? now : 0;
		if (r->register_failed)
			*wait_ms = Min(*wait_ms, SLO_RESTART_SECONDS * 1000L);
	}
}

/* on exit of the scheduler: its run workers go with it. */
static void
SloStopRunners(int code, Datum arg)
{
	for (int i = 0; i < SLO_MAX_RUNNERS; i++)
		if (runners[i].handle != NULL)
			TerminateBackgroundWorker(runners[i].handle);
}


/* ---------------------------------------------------------------------
 * Main loops
 * ---------------------------------------------------------------------
 */

/* Connect, name ourselves; exit if our database is no longer listed. */
static void
SloWorkerConnect(Oid dboid)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SetConfigOption("application_name", "slo_guard", PGC_USERSET, PGC_S_SESSION);

	StartTransactionCommand();
	worker_dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	job_cxt = AllocSetContextCreate(TopMemoryContext, "slo_guard job",
									ALLOCSET_DEFAULT_SIZES);
}

/* On SIGHUP: reload; exit if our database left slo_guard.database. */
static void
SloWorkerReload(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (!SloDatabaseListed(worker_dbname))
	{
		if (!am_runner)
			ereport(LOG,
					(errmsg("slo_guard worker for database \"%s\" exiting: the database is no longer listed in slo_guard.database",
							worker_dbname)));
		proc_exit(0);
	}
}

void
SloSchedulerMain(Datum main_arg)
{
	SloWorkerConnect(DatumGetObjectId(main_arg));

	if (!SloDatabaseListed(worker_dbname))
	{
		ereport(LOG,
				(errmsg("slo_guard worker for database \"%s\" exiting: the database is no longer listed in slo_guard.database",
						worker_dbname)));
		proc_exit(0);
	}
	if (!SloClaimProcSlot(SLO_ROLE_SCHEDULER))
	{
		/* Exit code 0: the postmaster forgets this worker. */
		ereport(LOG,
				(errmsg("slo_guard worker for database \"%s\" exiting: another worker already serves it",
						worker_dbname)));
		proc_exit(0);
	}
	before_shmem_exit(SloStopRunners, (Datum) 0);
	/* asynchronous checks are parked between transactions (JobProbes) */
	SloAsyncDefer(true);
	for (int i = 0; i < (int) lengthof(jobs); i++)
		if (jobs[i].run == JobProbes)
			probes_job = &jobs[i];

	for (;;)
	{
		long		timeout = slo_naptime_ms;
		TimestampTz now;
		int			rc;
		bool		active;

		SloWorkerReload();

		/* Paused, or (defensively) in recovery: write nothing, say nothing. */
		active = slo_enabled && !RecoveryInProgress();
		SloManageRunners(active, &timeout);
		if (!active)
		{
			if (!paused)
				pgstat_report_activity(STATE_IDLE, slo_enabled ?
									   "slo_guard: waiting for recovery to end" :
									   "slo_guard: paused (slo_guard.enabled is off)");
			paused = true;
		}
		else
		{
			paused = false;
			for (int i = 0; i < (int) lengthof(jobs); i++)
				if (jobs[i].next_due <= GetCurrentTimestamp())
					SloRunJob(&jobs[i]);

			now = GetCurrentTimestamp();
			for (int i = 0; i < (int) lengthof(jobs); i++)
			{
				long		ms = jobs[i].next_due <= now ? 0 :
					(long) ((jobs[i].next_due - now + 999) / 1000);

				timeout = Min(timeout, ms);
			}
		}

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		/* woken (a change to checks committed): look at checks now, unless backing off */
		if ((rc & WL_LATCH_SET) && SLO_JOB_CHECKS->failures == 0)
			SLO_JOB_CHECKS->next_due = 0;
		/* issue 11: woken (deliveries queued): send now, unless backing off */
		for (int i = 0; i < (int) lengthof(jobs); i++)
			if ((rc & WL_LATCH_SET) && jobs[i].run == SloDeliveryJob && jobs[i].failures == 0)
				jobs[i].next_due = 0;
	}
}

void
SloRunnerMain(Datum main_arg)
{
	am_runner = true;
	memcpy(&my_scheduler, MyBgworkerEntry->bgw_extra, sizeof(pid_t));
	memcpy(&runner_number, MyBgworkerEntry->bgw_extra + sizeof(pid_t), sizeof(int));
	SloWorkerConnect(DatumGetObjectId(main_arg));

	/* our scheduler is gone (it would have stopped us), or no slot is free */
	if (SloSchedulerPid(MyDatabaseId) != my_scheduler || !SloClaimProcSlot(SLO_ROLE_RUNNER))
		proc_exit(0);
	SloAsyncDefer(true);
	probes_job = &runner_probes_job;

	for (;;)
	{
		long		timeout = slo_naptime_ms;

		SloWorkerReload();
		if (SloSchedulerPid(MyDatabaseId) != my_scheduler)
			proc_exit(0);

		if (slo_enabled && !RecoveryInProgress())
		{
			if (runner_job.next_due <= GetCurrentTimestamp())
				SloRunJob(&runner_job);
			if (runner_probes_job.next_due <= GetCurrentTimestamp())
				SloRunJob(&runner_probes_job);
			if (runner_job.next_due > GetCurrentTimestamp())
				timeout = Min(timeout, (long) ((runner_job.next_due - GetCurrentTimestamp() + 999) / 1000));
			else
				timeout = 0;
			if (runner_probes_job.next_due > GetCurrentTimestamp())
				timeout = Min(timeout, (long) ((runner_probes_job.next_due - GetCurrentTimestamp() + 999) / 1000));
			else
				timeout = 0;
		}

		if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					  timeout, PG_WAIT_EXTENSION) & WL_LATCH_SET)
		{
			if (runner_job.failures == 0)
				runner_job.next_due = 0;
		}
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
