/*-------------------------------------------------------------------------
 * launcher.c
 *	  The launcher: the database watches itself.
 *
 *	  A launcher ("slo_guard launcher", registered at preload, restarted by
 *	  the postmaster) reads slo_guard.database and starts one dynamic worker
 *	  ("slo_guard", scheduler.c) per listed database, passing the database
 *	  OID as bgw_main_arg.  It looks again on SIGHUP, whenever one of its
 *	  workers stops, and every few seconds, so a database added to the list
 *	  or created later gets its worker without a restart.  A worker whose
 *	  database leaves the list exits by itself.
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
 *	  connect every few seconds forever.  Each per-database worker starts and
 *	  restarts its own run workers the same way (scheduler.c).
 *
 *	  The launcher and the workers start only once recovery has finished:
 *	  a hot standby runs no slo_guard process at all (it could not write a
 *	  result), and the postmaster starts them when the standby is promoted.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "guc.h"
#include "launcher.h"
#include "wake.h"

/* How often the launcher looks for databases created or dropped since. */
#define SLO_LAUNCHER_INTERVAL_MS 10000

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
 * Registration
 * ---------------------------------------------------------------------
 */

/* Fill the fields launcher and workers share. */
void
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
SloLauncherInit(void)
{
	BackgroundWorker worker;

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
	SloFillWorker(&worker, "SloSchedulerMain", BGW_NEVER_RESTART);
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
List *
SloDatabaseList(void)
{
	List	   *names = NIL;
	char	   *raw = pstrdup(slo_database ? slo_database : "");

	if (!SplitGUCList(raw, ',', &names))
		names = NIL;
	return names;
}

bool
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

		if (w->handle == NULL && SloSchedulerRunningFor(w->dboid))
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
	TimestampTz started_at;
	TimestampTz until;
	int			crashes;

	SloCrashState(&started_at, &crashes);
	if (crashes <= 0)
		return;
	until = TimestampTzPlusMilliseconds(started_at, SloCrashDelayMs(crashes));
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

