/*-------------------------------------------------------------------------
 * run.h
 *	  Running checks: one pass over the due (or all) checks, each isolated in
 *	  its own subtransaction with its own timeout.  slo_run_checks(), the
 *	  background worker and pg_cron all come through SloRunChecks().
 *-------------------------------------------------------------------------
 */
#ifndef SLO_RUN_H
#define SLO_RUN_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/tuplestore.h"

#include "extension.h"

/*
 * Run the checks that are due (only_due) or all enabled ones, in the current
 * transaction, skipping any check another session is running right now.
 * Results, state and alert transitions are written in this transaction.  If
 * out is not NULL, one slo_result row per run is added to it (outdesc is the
 * slo_result row type).  Returns the number of checks run.  The caller must
 * not be connected to SPI.  On a hot standby the checks run read-only: results
 * are returned but nothing is stored or notified.
 */
extern int	SloRunChecks(const SloExtension *ext, bool only_due,
						 Tuplestorestate *out, TupleDesc outdesc);

/*
 * Install the hooks that keep a running check away from temporary relations
 * (parse analysis and executor start); called once from _PG_init.
 */
extern void SloRunInit(void);

/*
 * When the next enabled check is due (DT_NOEND if there is none).  Used by
 * the worker to decide how long to sleep.  Runs its own SPI query.
 */
extern TimestampTz SloNextDue(const SloExtension *ext);

#endif							/* SLO_RUN_H */
