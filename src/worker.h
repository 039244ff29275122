/*-------------------------------------------------------------------------
 * worker.h
 *	  The background worker: a launcher that starts one worker per database
 *	  listed in slo_guard.database, and the per-database worker loop that runs
 *	  due checks and trims history.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_WORKER_H
#define SLO_WORKER_H

#include "postgres.h"

/* Register the launcher and shared memory; called from _PG_init. */
extern void SloWorkerInit(void);

/*
 * Wake this database's worker when the current transaction commits, so that a
 * check added, altered or enabled is looked at at once instead of after up to
 * slo_guard.naptime.  Cheap, and a no-op when the library is not preloaded.
 */
extern void SloWorkerWakeOnCommit(void);

/* Entry points named in BackgroundWorker.bgw_function_name. */
extern PGDLLEXPORT void SloLauncherMain(Datum main_arg);
extern PGDLLEXPORT void SloWorkerMain(Datum main_arg);

#endif							/* SLO_WORKER_H */
