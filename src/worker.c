/*-------------------------------------------------------------------------
 * worker.c
 *	  The background worker: the database watches itself.
 *
 *	  A launcher ("slo_guard launcher", registered at preload, restarted by
 *	  the postmaster) reads slo_guard.database and starts one dynamic worker
 *	  ("slo_guard") per listed database, passing the database OID as
 *	  bgw_main_arg.  It looks again on SIGHUP, whenever one of its workers
 *	  stops, and every few seconds, so a database added to the list or created
 *	  later gets its worker without a restart.  A worker whose database leaves
 *	  the list exits by itself.
 *
 *	  The launcher, not the postmaster, restarts a worker that died (after
 *	  SLO_RESTART_SECONDS), as the logical replication launcher does for its
 *	  apply workers: workers are registered BGW_NEVER_RESTART.  A worker that
 *	  dies by a signal makes the postmaster crash-restart the whole server,
 *	  which starts the launcher again at once; the launcher then waits
 *	  (SLO_RESTART_SECONDS, doubling with each crash-restart in a row, at most
 *	  5 minutes) before it starts any worker, so a check that crashes its
 *	  backend cannot put the cluster in a restart loop.  A postmaster
 *	  restart time on dynamic workers would outlive the launcher that knows
 *	  about them (a crash-restart keeps them, a new launcher cannot see them),
 *	  and a worker whose database was dropped WITH (FORCE) would then fail to
 *	  connect every few seconds forever.
 *
 *	  Each worker loops as worker_spi and pg_cron do: one transaction per pass
 *	  running the due checks through SloRunChecks() (the code behind
 *	  slo_run_checks()), then a sleep on its latch until the next check is due
 *	  or slo_guard.naptime has passed.  A pass that fails is reported, rolled
 *	  back and retried after a growing back-off; it never kills the worker.
 *	  The worker also trims slo_result to slo_guard.result_retention, and
 *	  resolved alerts (with their events) to slo_guard.alert_retention, one
 *	  small batch at a time.  A schema of a version the library does not serve
 *	  (1.0 under the 1.1 library) is logged once and waited out: nothing runs
 *	  until ALTER EXTENSION slo_guard UPDATE.
 *
 *	  Both the launcher and the workers start only once recovery has finished:
 *	  a hot standby runs no slo_guard process at all (it could not write a
 *	  result), and the postmaster starts them when the standby is promoted.
 *
 *	  A small shared array maps database OID -> worker latch.  It lets a
 *	  worker find out that another one already serves its database (after a
 *	  launcher restart), and lets a backend that changed checks wake the
 *	  worker at commit (SloWorkerWakeOnCommit, as pg_net's wake()).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "extension.h"
#include "guc.h"
#include "run.h"
#include "slo_guard.h"
#include "worker.h"

/* Seconds before the launcher (or postmaster) restarts a process that died. */
#define SLO_RESTART_SECONDS		5
/* How often the launcher looks for databases created or dropped since. */
#define SLO_LAUNCHER_INTERVAL_MS 10000
/* Rows deleted from slo_result per trim, and pause between trims. */
#define SLO_TRIM_BATCH			1000
#define SLO_TRIM_INTERVAL_MS	10000
/* Longest back-off after repeated failed passes (unless naptime is longer). */
#define SLO_MAX_BACKOFF_MS		60000
/*
 * After a crash-restart of the server the launcher waits before starting the
 * workers: SLO_RESTART_SECONDS after the first, doubling with each further
 * crash-restart in a row, at most SLO_CRASH_MAX_DELAY_MS.  Crashes more than
 * SLO_CRASH_FORGET_MS apart (after the delay) are not "in a row".
 */
#define SLO_CRASH_MAX_DELAY_MS	(5 * 60 * 1000)
#define SLO_CRASH_FORGET_MS		(10 * 60 * 1000)

/* One running worker, as seen by other processes. */
typedef struct SloWorkerSlot
{
	Oid			dboid;			/* InvalidOid if the slot is free */
	pid_t		pid;
	Latch	   *latch;
} SloWorkerSlot;

typedef struct SloWorkerShared
{
	slock_t		mutex;
	/* set by the postmaster when it (re)creates shared memory */
	TimestampTz started_at;		/* server start or crash-restart */
	int			crash_restarts; /* crash-restarts in a row; 0 after a clean start */
	int			nslots;
	SloWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SloWorkerShared;

static SloWorkerShared *slo_shared = NULL;
/* Postmaster only: survive its crash-restarts (shared memory does not). */
static int	pm_shmem_inits = 0;
static TimestampTz pm_last_init = 0;
static int	pm_crash_streak = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Backend side of SloWorkerWakeOnCommit. */
static bool wake_pending = false;
static bool wake_callback_registered = false;

/* Worker process state. */
static bool am_slo_worker = false;
static int	my_slot = -1;
static char *worker_dbname = NULL;
static MemoryContext pass_cxt = NULL;
static int	consecutive_failures = 0;
static uint64 pass_count = 0;
static TimestampTz next_trim_at = 0;
static int	extension_seen = -1;	/* -1 unknown, 0 absent, 1 present */
static char *version_waiting = NULL;	/* schema version we wait to see updated */
static bool paused = false;

/* Launcher process state: one entry per database it started a worker for. */
typedef struct SloDbWorker
{
	Oid			dboid;
	char		name[NAMEDATALEN];
	BackgroundWorkerHandle *handle; /* NULL if none registered by us */
	TimestampTz stopped_at;		/* when we saw it gone; 0 if not known gone */
	bool		adopted;		/* served by a worker an earlier launcher started */
	bool		register_failed;
} SloDbWorker;

/* A row of pg_database, as the launcher needs it. */
typedef struct SloDbInfo
{
	Oid			oid;
	char		name[NAMEDATALEN];
	bool		allowconn;
} SloDbInfo;

static MemoryContext launcher_cxt = NULL;
static List *launcher_dbs = NIL;	/* SloDbWorker * */
static List *launcher_warned = NIL; /* names already warned about */


/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */

/* Size of the OID -> latch map: one slot per possible background worker. */
static Size
SloWorkerShmemSize(void)
{
	return add_size(offsetof(SloWorkerShared, slots),
					mul_size(max_worker_processes, sizeof(SloWorkerSlot)));
}

/* PG 15 wants add-in shared memory requested from this hook. */
static void
SloWorkerShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(SloWorkerShmemSize());
}

/* How long the launcher waits after the n-th crash-restart in a row. */
static long
SloCrashDelayMs(int crash_restarts)
{
	long		ms = SLO_RESTART_SECONDS * 1000L;

	if (crash_restarts <= 0)
		return 0;
	for (int i = 1; i < crash_restarts && ms < SLO_CRASH_MAX_DELAY_MS; i++)
		ms *= 2;
	return Min(ms, SLO_CRASH_MAX_DELAY_MS);
}

/* Create (postmaster) or attach to (EXEC_BACKEND children) the map. */
static void
SloWorkerShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slo_shared = ShmemInitStruct("slo_guard workers", SloWorkerShmemSize(), &found);
	if (!found)
	{
		TimestampTz now = GetCurrentTimestamp();

		/*
		 * The postmaster makes shared memory once at start and again after
		 * each crash-restart (a backend died by a signal); its own statics
		 * survive that, so it counts the crash-restarts in a row here.
		 */
		if (pm_shmem_inits > 0)
		{
			if (TimestampDifferenceExceeds(pm_last_init, now,
										   SloCrashDelayMs(pm_crash_streak) + SLO_CRASH_FORGET_MS))
				pm_crash_streak = 1;
			else
				pm_crash_streak++;
		}
		pm_shmem_inits++;
		pm_last_init = now;
		slo_shared->started_at = now;
		slo_shared->crash_restarts = pm_crash_streak;
		SpinLockInit(&slo_shared->mutex);
		slo_shared->nslots = max_worker_processes;
		for (int i = 0; i < slo_shared->nslots; i++)
		{
			slo_shared->slots[i].dboid = InvalidOid;
			slo_shared->slots[i].pid = 0;
			slo_shared->slots[i].latch = NULL;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Is a worker running for this database right now? */
static bool
SloWorkerRunningFor(Oid dboid)
{
	bool		running = false;

	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
		if (slo_shared->slots[i].dboid == dboid)
		{
			running = true;
			break;
		}
	SpinLockRelease(&slo_shared->mutex);
	return running;
}

/*
 * Take this database's slot; false if another worker already holds it (a
 * launcher restarted after a crash may start a second one).
 */
static bool
SloWorkerClaimSlot(void)
{
	int			free_slot = -1;

	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
	{
		if (slo_shared->slots[i].dboid == MyDatabaseId)
		{
			SpinLockRelease(&slo_shared->mutex);
			return false;
		}
		if (free_slot < 0 && !OidIsValid(slo_shared->slots[i].dboid))
			free_slot = i;
	}
	if (free_slot >= 0)
	{
		slo_shared->slots[free_slot].dboid = MyDatabaseId;
		slo_shared->slots[free_slot].pid = MyProcPid;
		slo_shared->slots[free_slot].latch = MyLatch;
		my_slot = free_slot;
	}
	SpinLockRelease(&slo_shared->mutex);
	return free_slot >= 0;
}

/* on exit: give the slot back so that a restarted worker can take it. */
static void
SloWorkerReleaseSlot(int code, Datum arg)
{
	if (my_slot < 0)
		return;
	SpinLockAcquire(&slo_shared->mutex);
	if (slo_shared->slots[my_slot].pid == MyProcPid)
	{
		slo_shared->slots[my_slot].dboid = InvalidOid;
		slo_shared->slots[my_slot].pid = 0;
		slo_shared->slots[my_slot].latch = NULL;
	}
	SpinLockRelease(&slo_shared->mutex);
	my_slot = -1;
}

/* Set the latch of the worker serving dboid, if there is one. */
static void
SloWakeWorker(Oid dboid)
{
	Latch	   *latch = NULL;

	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
		if (slo_shared->slots[i].dboid == dboid)
		{
			latch = slo_shared->slots[i].latch;
			break;
		}
	SpinLockRelease(&slo_shared->mutex);

	/* A PGPROC latch stays valid memory; waking a reused one is harmless. */
	if (latch != NULL)
		SetLatch(latch);
}

/* At commit, wake the worker if a change to checks asked for it. */
static void
SloWakeXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_pending)
			{
				wake_pending = false;
				SloWakeWorker(MyDatabaseId);
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_pending = false;
			break;
		default:
			break;
	}
}

void
SloWorkerWakeOnCommit(void)
{
	if (slo_shared == NULL || am_slo_worker)
		return;
	if (!wake_callback_registered)
	{
		RegisterXactCallback(SloWakeXactCallback, NULL);
		wake_callback_registered = true;
	}
	wake_pending = true;
}


/* ---------------------------------------------------------------------
 * Registration
 * ---------------------------------------------------------------------
 */

/* Fill the fields launcher and workers share. */
static void
SloFillWorker(BackgroundWorker *worker, const char *function, int restart_time)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* Nothing to do on a standby: start after promotion (or normal startup). */
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_time;
	strlcpy(worker->bgw_library_name, "slo_guard", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
}

void
SloWorkerInit(void)
{
	BackgroundWorker worker;

	/* Loaded into a session, or by pg_upgrade: functions only, no worker. */
	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = SloWorkerShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = SloWorkerShmemStartup;

	SloFillWorker(&worker, "SloLauncherMain", SLO_RESTART_SECONDS);
	strlcpy(worker.bgw_name, "slo_guard launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "slo_guard launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* Start the worker for one database; NULL (and a warning) if no slot is free. */
static BackgroundWorkerHandle *
SloStartDbWorker(Oid dboid, const char *dbname, bool warn)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	/* the launcher restarts it: see the header comment */
	SloFillWorker(&worker, "SloWorkerMain", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "slo_guard worker for database %s", dbname);
	strlcpy(worker.bgw_type, "slo_guard", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	/* wake the launcher when the worker starts or stops */
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		if (warn)
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start the slo_guard worker for database \"%s\"", dbname),
					 errdetail("All %d background worker slots are in use.", max_worker_processes),
					 errhint("Raise max_worker_processes; the launcher retries every %d seconds.",
							 SLO_RESTART_SECONDS)));
		return NULL;
	}
	return handle;
}


/* ---------------------------------------------------------------------
 * slo_guard.database
 * ---------------------------------------------------------------------
 */

/* The database names in slo_guard.database (the check hook vetted the syntax). */
static List *
SloDatabaseList(void)
{
	List	   *names = NIL;
	char	   *raw = pstrdup(slo_database ? slo_database : "");

	if (!SplitGUCList(raw, ',', &names))
		names = NIL;
	return names;
}

static bool
SloDatabaseListed(const char *dbname)
{
	ListCell   *lc;

	foreach(lc, SloDatabaseList())
		if (strcmp((char *) lfirst(lc), dbname) == 0)
			return true;
	return false;
}


/* ---------------------------------------------------------------------
 * Launcher
 * ---------------------------------------------------------------------
 */

/* Read pg_database (a shared catalog: no database connection needed). */
static List *
SloReadDatabases(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database form = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		SloDbInfo  *info = palloc0(sizeof(SloDbInfo));

		info->oid = form->oid;
		strlcpy(info->name, NameStr(form->datname), NAMEDATALEN);
		info->allowconn = form->datallowconn;
		result = lappend(result, info);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return result;
}

/* Warn once about a listed database that cannot be served (until it can). */
static void
SloLauncherWarnOnce(const char *name, bool exists)
{
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, launcher_warned)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return;
	if (!exists)
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" listed in slo_guard.database does not exist", name),
				 errhint("Create it (the launcher notices within %d seconds), or remove it from slo_guard.database and reload.",
						 SLO_LAUNCHER_INTERVAL_MS / 1000)));
	else
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("database \"%s\" listed in slo_guard.database does not allow connections", name),
				 errhint("Run ALTER DATABASE ... ALLOW_CONNECTIONS true, or remove it from slo_guard.database and reload.")));
	old = MemoryContextSwitchTo(launcher_cxt);
	launcher_warned = lappend(launcher_warned, pstrdup(name));
	MemoryContextSwitchTo(old);
}

static void
SloLauncherForgetWarning(const char *name)
{
	ListCell   *lc;

	foreach(lc, launcher_warned)
		if (strcmp((char *) lfirst(lc), name) == 0)
		{
			launcher_warned = foreach_delete_current(launcher_warned, lc);
			return;
		}
}

/*
 * Make the set of workers match slo_guard.database: start a worker for each
 * listed database that has none, at once if it never had one, after
 * SLO_RESTART_SECONDS if its worker died.  A worker registered by an earlier
 * launcher (this one was restarted) is recognised by its slot in shared
 * memory and left alone.  Returns how long to sleep (ms) before looking again.
 */
static long
SloLauncherReconcile(MemoryContext tmp_cxt)
{
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();
	long		wait_ms = SLO_LAUNCHER_INTERVAL_MS;
	List	   *dbs;
	List	   *keep = NIL;
	ListCell   *lc;

	MemoryContextReset(tmp_cxt);
	old = MemoryContextSwitchTo(tmp_cxt);
	dbs = SloReadDatabases();

	foreach(lc, SloDatabaseList())
	{
		const char *name = (const char *) lfirst(lc);
		SloDbInfo  *db = NULL;
		SloDbWorker *w = NULL;
		ListCell   *lc2;

		foreach(lc2, dbs)
			if (strcmp(((SloDbInfo *) lfirst(lc2))->name, name) == 0)
				db = (SloDbInfo *) lfirst(lc2);
		if (db == NULL || !db->allowconn)
		{
			SloLauncherWarnOnce(name, db != NULL);
			continue;
		}
		SloLauncherForgetWarning(name);

		foreach(lc2, launcher_dbs)
			if (((SloDbWorker *) lfirst(lc2))->dboid == db->oid)
			{
				w = (SloDbWorker *) lfirst(lc2);
				launcher_dbs = foreach_delete_current(launcher_dbs, lc2);
				break;
			}
		if (w == NULL)
		{
			w = MemoryContextAllocZero(launcher_cxt, sizeof(SloDbWorker));
			w->dboid = db->oid;
			strlcpy(w->name, db->name, NAMEDATALEN);
		}

		/* Has the worker we started gone away? */
		if (w->handle != NULL)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(w->handle, &pid) == BGWH_STOPPED)
			{
				pfree(w->handle);
				w->handle = NULL;
				w->stopped_at = now;
			}
		}

		if (w->handle == NULL && SloWorkerRunningFor(w->dboid))
		{
			/* served by a worker we did not start (we were restarted) */
			w->adopted = true;
			w->stopped_at = 0;
		}
		else if (w->handle == NULL)
		{
			if (w->adopted)
			{
				/* that worker is gone: restart after the delay, as our own */
				w->adopted = false;
				w->stopped_at = now;
			}
			if (w->stopped_at != 0 &&
				!TimestampDifferenceExceeds(w->stopped_at, now, SLO_RESTART_SECONDS * 1000))
			{
				/* died recently: restart after the delay */
				TimestampTz due = TimestampTzPlusMilliseconds(w->stopped_at,
															  SLO_RESTART_SECONDS * 1000);

				wait_ms = Min(wait_ms, TimestampDifferenceMilliseconds(now, due) + 1);
			}
			else
			{
				MemoryContextSwitchTo(launcher_cxt);
				w->handle = SloStartDbWorker(w->dboid, w->name, !w->register_failed);
				MemoryContextSwitchTo(tmp_cxt);
				w->register_failed = (w->handle == NULL);
				/* out of slots: try again after the delay */
				w->stopped_at = w->register_failed ? now : 0;
				if (w->register_failed)
					wait_ms = Min(wait_ms, SLO_RESTART_SECONDS * 1000L);
			}
		}

		MemoryContextSwitchTo(launcher_cxt);
		keep = lappend(keep, w);
		MemoryContextSwitchTo(tmp_cxt);
	}

	/*
	 * Entries left over are no longer listed, or their database is gone.  A
	 * worker whose database is merely unlisted exits by itself at its next
	 * reload.  One whose database was dropped (DROP DATABASE ... WITH (FORCE)
	 * terminated it) may still be waiting to start: cancel it.
	 */
	foreach(lc, launcher_dbs)
	{
		SloDbWorker *w = (SloDbWorker *) lfirst(lc);
		bool		exists = false;
		ListCell   *lc2;

		foreach(lc2, dbs)
			if (((SloDbInfo *) lfirst(lc2))->oid == w->dboid)
				exists = true;
		if (w->handle != NULL)
		{
			if (!exists)
				TerminateBackgroundWorker(w->handle);
			pfree(w->handle);
		}
		pfree(w);
	}
	list_free(launcher_dbs);
	launcher_dbs = keep;

	MemoryContextSwitchTo(old);
	return wait_ms;
}

/*
 * After a crash-restart of the server, wait before starting any worker: the
 * postmaster starts the launcher again at once, and a worker that crashes
 * the server (a check that kills its backend) would otherwise make the
 * cluster restart in a tight loop.  The wait doubles with each crash-restart
 * in a row (SloCrashDelayMs).
 */
static void
SloLauncherCrashDelay(void)
{
	TimestampTz until;
	int			crashes = slo_shared->crash_restarts;

	if (crashes <= 0)
		return;
	until = TimestampTzPlusMilliseconds(slo_shared->started_at, SloCrashDelayMs(crashes));
	if (GetCurrentTimestamp() >= until)
		return;
	ereport(LOG,
			(errmsg("slo_guard launcher: the server restarted after a crash (%d in a row); starting workers in %ld s",
					crashes, (TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until) + 999) / 1000)));
	pgstat_report_activity(STATE_IDLE, "slo_guard: waiting after a crash-restart");
	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (ms <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

void
SloLauncherMain(Datum main_arg)
{
	MemoryContext tmp_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* Connected to no database: it reads only pg_database. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	SetConfigOption("application_name", "slo_guard launcher", PGC_USERSET, PGC_S_SESSION);

	SloLauncherCrashDelay();

	launcher_cxt = AllocSetContextCreate(TopMemoryContext, "slo_guard launcher",
										 ALLOCSET_DEFAULT_SIZES);
	tmp_cxt = AllocSetContextCreate(launcher_cxt, "slo_guard launcher pass",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		wait_ms;

		pgstat_report_activity(STATE_RUNNING, "slo_guard: matching workers to slo_guard.database");
		wait_ms = SloLauncherReconcile(tmp_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);

		/* woken early by SIGHUP and by our workers starting or stopping */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}


/* ---------------------------------------------------------------------
 * Worker
 * ---------------------------------------------------------------------
 */

/* Name the worker and its database in any error raised during a pass. */
static void
SloWorkerErrorContext(void *arg)
{
	errcontext("slo_guard worker for database \"%s\"", worker_dbname);
}

/* Log once when the extension appears in or leaves our database. */
static void
SloNoteExtension(bool found, const char *nspname)
{
	int			now_seen = found ? 1 : 0;

	if (now_seen == extension_seen)
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
	StringInfoData q;
	SloBookkeeping bk;
	uint64		deleted;
	int			ret;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "DELETE FROM %s.slo_result WHERE id = ANY (ARRAY("
					 "SELECT id FROM (SELECT id, at FROM %s.slo_result ORDER BY id LIMIT %d) oldest"
					 " WHERE at < now() - make_interval(secs => %d)))",
					 ext->nspname, ext->nspname, SLO_TRIM_BATCH, slo_result_retention_s);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	SloEnterBookkeeping(ext, &bk);
	ret = SPI_execute(q.data, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not trim slo_result: %s", SPI_result_code_string(ret));
	deleted = SPI_processed;
	SloLeaveBookkeeping(&bk);
	SPI_finish();
	return deleted;
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
	StringInfoData q;
	SloBookkeeping bk;
	uint64		deleted;
	int			ret;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "DELETE FROM %s.slo_alert WHERE id = ANY (ARRAY("
					 "SELECT id FROM %s.slo_alert WHERE state = 'resolved'"
					 " AND resolved_at < now() - make_interval(secs => %d)"
					 " ORDER BY resolved_at LIMIT %d))",
					 ext->nspname, ext->nspname, slo_alert_retention_s, SLO_TRIM_BATCH);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	SloEnterBookkeeping(ext, &bk);
	ret = SPI_execute(q.data, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not trim slo_alert: %s", SPI_result_code_string(ret));
	deleted = SPI_processed;
	SloLeaveBookkeeping(&bk);
	SPI_finish();
	return deleted;
}

/* Trim in its own transaction, so that a trim problem never loses results. */
static void
SloTrimPass(void)
{
	SloExtension ext;
	uint64		deleted = 0;
	uint64		deleted_alerts = 0;

	/* Set first: a failing trim is retried after the interval, not every pass. */
	next_trim_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SLO_TRIM_INTERVAL_MS);

	pgstat_report_activity(STATE_RUNNING, "slo_guard: trimming slo_result");
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SloFindExtension(&ext) && ext.version_ok)
	{
		deleted = SloTrimResults(&ext);
		deleted_alerts = SloTrimAlerts(&ext);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);

	/* A full batch means more is waiting: trim again next pass. */
	if (deleted >= SLO_TRIM_BATCH || deleted_alerts >= SLO_TRIM_BATCH)
		next_trim_at = 0;
	if (deleted > 0 || deleted_alerts > 0)
		elog(DEBUG1, "slo_guard trimmed " UINT64_FORMAT " results and " UINT64_FORMAT " resolved alerts in database \"%s\"",
			 deleted, deleted_alerts, worker_dbname);
}

/* Sleep after the n-th failed pass in a row: naptime, doubling, capped. */
static long
SloBackoffMs(int failures)
{
	long		ms = slo_naptime_ms;
	long		cap = Max(SLO_MAX_BACKOFF_MS, slo_naptime_ms);

	for (int i = 1; i < failures && ms < cap; i++)
		ms *= 2;
	return Min(ms, cap);
}

/*
 * One pass: run the due checks in one transaction, then maybe trim.  Returns
 * how long to sleep (ms): until the next check is due, at most naptime, longer
 * after failures.
 */
static long
SloWorkerPass(void)
{
	volatile bool found = false;
	volatile bool failed = false;
	volatile bool old_schema = false;
	volatile int nrun = 0;
	volatile TimestampTz next_due = DT_NOEND;
	char	   *volatile nspname = NULL;
	ErrorContextCallback errcb;
	TimestampTz now;
	long		timeout;

	/* Paused, or (defensively) in recovery: write nothing, say nothing. */
	if (!slo_enabled || RecoveryInProgress())
	{
		if (!paused)
			pgstat_report_activity(STATE_IDLE, slo_enabled ?
								   "slo_guard: waiting for recovery to end" :
								   "slo_guard: paused (slo_guard.enabled is off)");
		paused = true;
		return slo_naptime_ms;
	}
	paused = false;

	MemoryContextReset(pass_cxt);
	MemoryContextSwitchTo(pass_cxt);
	pass_count++;

	errcb.callback = SloWorkerErrorContext;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	PG_TRY();
	{
		SloExtension ext;
		char		activity[64];

		snprintf(activity, sizeof(activity),
				 "slo_guard: running due checks (pass " UINT64_FORMAT ")", pass_count);
		pgstat_report_activity(STATE_RUNNING, activity);

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		found = SloFindExtension(&ext);
		if (found && !ext.version_ok)
		{
			/* say it once per version, then wait (re-checked every naptime) */
			old_schema = true;
			found = false;
			if (version_waiting == NULL || strcmp(version_waiting, ext.version) != 0)
			{
				ereport(LOG,
						(errmsg("slo_guard worker for database \"%s\" waiting: %s's schema is version %s but the library is %s",
								worker_dbname, SLO_EXTENSION_NAME, ext.version, SLO_LIBRARY_VERSION),
						 errhint("Run ALTER EXTENSION %s UPDATE.", SLO_EXTENSION_NAME)));
				if (version_waiting)
					pfree(version_waiting);
				version_waiting = MemoryContextStrdup(TopMemoryContext, ext.version);
			}
		}
		else if (version_waiting != NULL)
		{
			pfree(version_waiting);
			version_waiting = NULL;
		}
		if (found)
		{
			nspname = MemoryContextStrdup(pass_cxt, ext.nspname);
			nrun = SloRunChecks(&ext, true, NULL, NULL);
			next_due = SloNextDue(&ext);
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(false);

		if (found && GetCurrentTimestamp() >= next_trim_at)
			SloTrimPass();

		consecutive_failures = 0;
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
		failed = true;
		consecutive_failures++;
	}
	PG_END_TRY();

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(pass_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	if (!failed && !old_schema)
		SloNoteExtension(found, nspname);

	if (failed)
	{
		timeout = SloBackoffMs(consecutive_failures);
		ereport(LOG,
				(errmsg("slo_guard worker for database \"%s\": pass failed, retrying in %ld ms",
						worker_dbname, timeout)));
		return timeout;
	}

	timeout = slo_naptime_ms;
	if (found && next_due != DT_NOEND)
	{
		now = GetCurrentTimestamp();
		if (next_due <= now)
		{
			/*
			 * Due already: run again at once if this pass did work (a check fell
			 * due while it ran); if it ran nothing, what is due is being run by
			 * someone else (pg_cron, a hand call), so do not spin on it.
			 */
			if (nrun > 0)
				timeout = 0;
		}
		else
		{
			/* round up, so that we never wake a hair before it is due */
			int64		ms = (next_due - now + 999) / 1000;

			if (ms < timeout)
				timeout = (long) ms;
		}
	}
	return timeout;
}

void
SloWorkerMain(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);

	am_slo_worker = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SetConfigOption("application_name", "slo_guard", PGC_USERSET, PGC_S_SESSION);

	StartTransactionCommand();
	worker_dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	if (!SloDatabaseListed(worker_dbname))
	{
		ereport(LOG,
				(errmsg("slo_guard worker for database \"%s\" exiting: the database is no longer listed in slo_guard.database",
						worker_dbname)));
		proc_exit(0);
	}
	before_shmem_exit(SloWorkerReleaseSlot, (Datum) 0);
	if (!SloWorkerClaimSlot())
	{
		/* Exit code 0: the postmaster forgets this worker. */
		ereport(LOG,
				(errmsg("slo_guard worker for database \"%s\" exiting: another worker already serves it",
						worker_dbname)));
		proc_exit(0);
	}

	pass_cxt = AllocSetContextCreate(TopMemoryContext, "slo_guard worker pass",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		timeout;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (!SloDatabaseListed(worker_dbname))
			{
				ereport(LOG,
						(errmsg("slo_guard worker for database \"%s\" exiting: the database is no longer listed in slo_guard.database",
								worker_dbname)));
				proc_exit(0);
			}
		}

		timeout = SloWorkerPass();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
