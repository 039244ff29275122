/*-------------------------------------------------------------------------
 * wake.c
 *	  slo_guard's shared memory and the wake-up on commit.
 *
 *	  A small shared array holds one slot per slo_guard process serving a
 *	  database: its scheduler (the per-database worker) and its run workers,
 *	  each with its database OID, pid and latch.  It lets a scheduler find
 *	  out that another one already serves its database (after a launcher
 *	  restart), lets a run worker see that its scheduler is gone, and lets a
 *	  backend that changed checks wake all of the database's processes at
 *	  commit (SloWorkerWakeOnCommit, as pg_net's wake()).
 *
 *	  The postmaster (re)creates this memory at start and after every
 *	  crash-restart; it counts the crash-restarts in a row there, so that the
 *	  launcher can hold the workers back (launcher.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "wake.h"

/*
 * After a crash-restart of the server the launcher waits before starting the
 * workers: SLO_RESTART_SECONDS after the first, doubling with each further
 * crash-restart in a row, at most SLO_CRASH_MAX_DELAY_MS.  Crashes more than
 * SLO_CRASH_FORGET_MS apart (after the delay) are not "in a row".
 */
#define SLO_CRASH_MAX_DELAY_MS	(5 * 60 * 1000)
#define SLO_CRASH_FORGET_MS		(10 * 60 * 1000)

/* One slo_guard process serving a database, as seen by other processes. */
typedef struct SloProcSlot
{
	Oid			dboid;			/* InvalidOid if the slot is free */
	pid_t		pid;
	Latch	   *latch;
	SloProcRole role;
	/* issue 15 (harden): a check this process must give up (drop/alter), 0 if none */
	volatile int64 withdraw_check;
	volatile TimestampTz withdraw_at;	/* when asked; a request older than a minute is void */
} SloProcSlot;

typedef struct SloShared
{
	slock_t		mutex;
	/* set by the postmaster when it (re)creates shared memory */
	TimestampTz started_at;		/* server start or crash-restart */
	int			crash_restarts; /* crash-restarts in a row; 0 after a clean start */
	int			nslots;
	SloProcSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SloShared;

static SloShared *slo_shared = NULL;
/* Postmaster only: survive its crash-restarts (shared memory does not). */
static int	pm_shmem_inits = 0;
static TimestampTz pm_last_init = 0;
static int	pm_crash_streak = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Backend side of SloWorkerWakeOnCommit. */
static bool wake_pending = false;
static bool wake_callback_registered = false;

/* This process's slot (slo_guard's own processes), -1 if none. */
static int	my_slot = -1;

long
SloCrashDelayMs(int crash_restarts)
{
	long		ms = SLO_RESTART_SECONDS * 1000L;

	if (crash_restarts <= 0)
		return 0;
	for (int i = 1; i < crash_restarts && ms < SLO_CRASH_MAX_DELAY_MS; i++)
		ms *= 2;
	return Min(ms, SLO_CRASH_MAX_DELAY_MS);
}

/* One slot per possible background worker: every slo_guard process is one. */
static Size
SloShmemSize(void)
{
	return add_size(offsetof(SloShared, slots),
					mul_size(max_worker_processes, sizeof(SloProcSlot)));
}

/* PG 15 wants add-in shared memory requested from this hook. */
static void
SloShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(SloShmemSize());
}

/* Create (postmaster) or attach to (EXEC_BACKEND children) the array. */
static void
SloShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slo_shared = ShmemInitStruct("slo_guard workers", SloShmemSize(), &found);
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
			slo_shared->slots[i].role = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
SloWakeInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = SloShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = SloShmemStartup;
}

void
SloCrashState(TimestampTz *started_at, int *crash_restarts)
{
	*started_at = slo_shared->started_at;
	*crash_restarts = slo_shared->crash_restarts;
}

pid_t
SloSchedulerPid(Oid dboid)
{
	pid_t		pid = 0;

	if (slo_shared == NULL)
		return 0;
	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
		if (slo_shared->slots[i].dboid == dboid &&
			slo_shared->slots[i].role == SLO_ROLE_SCHEDULER)
		{
			pid = slo_shared->slots[i].pid;
			break;
		}
	SpinLockRelease(&slo_shared->mutex);
	return pid;
}

bool
SloSchedulerRunningFor(Oid dboid)
{
	return SloSchedulerPid(dboid) != 0;
}

/* on exit: give the slot back so that a restarted process can take it. */
static void
SloReleaseProcSlot(int code, Datum arg)
{
	if (my_slot < 0)
		return;
	SpinLockAcquire(&slo_shared->mutex);
	if (slo_shared->slots[my_slot].pid == MyProcPid)
	{
		slo_shared->slots[my_slot].dboid = InvalidOid;
		slo_shared->slots[my_slot].pid = 0;
		slo_shared->slots[my_slot].latch = NULL;
		slo_shared->slots[my_slot].role = 0;
	}
	SpinLockRelease(&slo_shared->mutex);
	my_slot = -1;
}

bool
SloClaimProcSlot(SloProcRole role)
{
	int			free_slot = -1;

	Assert(my_slot < 0);
	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
	{
		if (role == SLO_ROLE_SCHEDULER &&
			slo_shared->slots[i].dboid == MyDatabaseId &&
			slo_shared->slots[i].role == SLO_ROLE_SCHEDULER)
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
		slo_shared->slots[free_slot].role = role;
		slo_shared->slots[free_slot].withdraw_check = 0;
		my_slot = free_slot;
	}
	SpinLockRelease(&slo_shared->mutex);
	if (free_slot >= 0)
		before_shmem_exit(SloReleaseProcSlot, (Datum) 0);
	return free_slot >= 0;
}

void
SloWakeDatabase(Oid dboid)
{
	Latch	   *latches[64];
	int			n = 0;

	if (slo_shared == NULL)
		return;
	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots && n < (int) lengthof(latches); i++)
		if (slo_shared->slots[i].dboid == dboid && slo_shared->slots[i].latch != NULL)
			latches[n++] = slo_shared->slots[i].latch;
	SpinLockRelease(&slo_shared->mutex);

	/* A PGPROC latch stays valid memory; waking a reused one is harmless. */
	for (int i = 0; i < n; i++)
		SetLatch(latches[i]);
}

/* At commit, wake the database's processes if a change to checks asked for it. */
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
				SloWakeDatabase(MyDatabaseId);
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
	/* one of our own processes: it looks again anyway */
	if (my_slot >= 0)
		return;
	SloWakeAtCommit();
}

/*
 * Wake the database's slo_guard processes when this transaction commits,
 * also from one of slo_guard's own processes (a run worker queues deliveries
 * that only the scheduler sends).
 */
void
SloWakeAtCommit(void)
{
	if (slo_shared == NULL)		/* not preloaded */
		return;
	if (!wake_callback_registered)
	{
		RegisterXactCallback(SloWakeXactCallback, NULL);
		wake_callback_registered = true;
	}
	wake_pending = true;
}

/*
 * Issue 15 (harden; issue 9's "drop/alter of a running check does not wait"):
 * slo_drop_check / slo_alter_check ask this database's slo_guard processes to
 * give up check_id (on) before they wait for its claim, and take the request
 * back (off) once they hold it.  A run worker that is running the check
 * cancels it at its next timer tick (100 ms) and stores nothing for that run;
 * one that claimed it but has not started it does not start it.
 */
void
SloWithdrawCheck(Oid dboid, int64 check_id, bool on)
{
	if (slo_shared == NULL || check_id == 0)
		return;
	SpinLockAcquire(&slo_shared->mutex);
	for (int i = 0; i < slo_shared->nslots; i++)
	{
		SloProcSlot *slot = &slo_shared->slots[i];

		if (slot->dboid != dboid)
			continue;
		if (on)
		{
			slot->withdraw_at = GetCurrentTimestamp();
			slot->withdraw_check = check_id;
		}
		else if (slot->withdraw_check == check_id)
			slot->withdraw_check = 0;
	}
	SpinLockRelease(&slo_shared->mutex);
}

/* Must this process give up check_id?  Safe in a signal handler (one read). */
bool
SloCheckWithdrawn(int64 check_id)
{
	if (slo_shared == NULL || my_slot < 0 || check_id == 0)
		return false;
	/*
	 * A request is void after a minute: one left behind by a backend that
	 * died while it waited (FATAL skips its cleanup) never stops the check
	 * for long.  A live request is taken back within ~100-200 ms.
	 */
	return slo_shared->slots[my_slot].withdraw_check == check_id &&
		GetCurrentTimestamp() - slo_shared->slots[my_slot].withdraw_at < 60 * USECS_PER_SEC;
}
