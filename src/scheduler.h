/*-------------------------------------------------------------------------
 * scheduler.h
 *	  The per-database worker ("slo_guard"): a scheduler of timed jobs (due
 *	  checks, history trimming) that keeps slo_guard.max_workers - 1 run
 *	  workers ("slo_guard runner") running due checks beside it.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_SCHEDULER_H
#define SLO_SCHEDULER_H

#include "postgres.h"

/* Entry points named in BackgroundWorker.bgw_function_name. */
extern PGDLLEXPORT void SloSchedulerMain(Datum main_arg);
extern PGDLLEXPORT void SloRunnerMain(Datum main_arg);

#endif							/* SLO_SCHEDULER_H */
