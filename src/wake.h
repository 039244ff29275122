/*-------------------------------------------------------------------------
 * wake.h
 *	  slo_guard's shared memory: one slot per slo_guard process serving a
 *	  database (its scheduler and its run workers), with their latches, so
 *	  that a backend that changed checks wakes them at commit; and the
 *	  record of the server's crash-restarts, read by the launcher.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_WAKE_H
#define SLO_WAKE_H

#include "postgres.h"

#include "utils/timestamp.h"

/* What a process in a slot does. */
typedef enum SloProcRole
{
	SLO_ROLE_SCHEDULER = 1,		/* the per-database worker (one per database) */
	SLO_ROLE_RUNNER				/* a run worker of that database */
} SloProcRole;

/* Ask for the shared memory (only while preloading); called from _PG_init. */
extern void SloWakeInit(void);

/* Seconds before the launcher (or a scheduler) restarts a process that died. */
#define SLO_RESTART_SECONDS		5

/* Server start (or last crash-restart) and crash-restarts in a row. */
extern void SloCrashState(TimestampTz *started_at, int *crash_restarts);

/*
 * How long the launcher waits after the n-th crash-restart in a row (ms):
 * SLO_RESTART_SECONDS after the first, doubling, at most 5 minutes.
 */
extern long SloCrashDelayMs(int crash_restarts);

/* Is a scheduler serving this database right now? */
extern bool SloSchedulerRunningFor(Oid dboid);
/* Pid of the scheduler serving this database, 0 if none. */
extern pid_t SloSchedulerPid(Oid dboid);

/*
 * Take a slot for this process in MyDatabaseId, released at exit.  A
 * scheduler gets false if another scheduler already serves the database (a
 * launcher restarted after a crash may start a second one); anyone gets
 * false if no slot is free.
 */
extern bool SloClaimProcSlot(SloProcRole role);

/* Set the latch of every slo_guard process serving dboid. */
extern void SloWakeDatabase(Oid dboid);

/*
 * Wake this database's slo_guard processes when the current transaction
 * commits, so that a check added, altered or enabled is looked at at once
 * instead of after up to slo_guard.naptime.  Cheap, and a no-op when the
 * library is not preloaded or in slo_guard's own processes.
 */
/* The same, also from slo_guard's own processes (delivery.c queues deliveries from run workers). */
extern void SloWakeAtCommit(void);
extern void SloWorkerWakeOnCommit(void);

/*
 * Issue 15 (harden): ask the slo_guard processes of dboid to give up a running
 * or claimed check (on), or take the request back (off); and, in a run worker,
 * whether it was asked to give up check_id (signal-safe).
 */
extern void SloWithdrawCheck(Oid dboid, int64 check_id, bool on);
extern bool SloCheckWithdrawn(int64 check_id);

#endif							/* SLO_WAKE_H */
