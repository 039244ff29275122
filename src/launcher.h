/*-------------------------------------------------------------------------
 * launcher.h
 *	  The launcher: starts one per-database worker (scheduler.c) for each
 *	  database listed in slo_guard.database, restarts them, and holds back
 *	  after crash-restarts of the server.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_LAUNCHER_H
#define SLO_LAUNCHER_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "postmaster/bgworker.h"

/* Register the launcher; called from _PG_init (only while preloading). */
extern void SloLauncherInit(void);

/* The database names of slo_guard.database, and whether one is listed. */
extern List *SloDatabaseList(void);
extern bool SloDatabaseListed(const char *dbname);

/* Fill the fields every slo_guard background worker shares. */
extern void SloFillWorker(BackgroundWorker *worker, const char *function, int restart_time);

/* Entry point named in BackgroundWorker.bgw_function_name. */
extern PGDLLEXPORT void SloLauncherMain(Datum main_arg);

#endif							/* SLO_LAUNCHER_H */
