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
 * transaction.  only_due passes over any check another session is running
 * right now; !only_due waits for it (as SloRunCheckIds does).
 * Results, state and alert transitions are written in this transaction.  If
 * out is not NULL, one slo_result row per run is added to it (outdesc is the
 * slo_result row type).  Returns the number of checks run.  The caller must
 * not be connected to SPI.  On a hot standby the checks run read-only: results
 * are returned but nothing is stored or notified.
 */
extern int	SloRunChecks(const SloExtension *ext, bool only_due,
						 Tuplestorestate *out, TupleDesc outdesc);

/*
 * One batch of due checks, for a run worker (the worker commits after each
 * call).  In the current transaction: claim due enabled checks (FOR UPDATE
 * SKIP LOCKED on their slo_check_state rows, next_run order, in growing
 * chunks 1, 8, 64, ...), run them one by one (each sealed as in SloRunChecks)
 * and write each one's result, state and alert transition.  Stops after
 * max_checks checks, or once budget_ms has passed since the start, or right
 * after a check that took longer than budget_ms (at least one check runs).
 * Claimed checks not run are left untouched; their claim ends at commit.
 * Returns how many ran.  *next_due (if not NULL) gets the earliest next_run
 * of the enabled checks no other session has claimed (DT_NOEND if none).
 * The caller must not be connected to SPI.
 */
extern int	SloRunDueBatch(const SloExtension *ext, int max_checks, int budget_ms,
						   TimestampTz *next_due);

/*
 * Asynchronous checks (kinds with start / poll / finish, kind.h) and the
 * transactions around them.
 *
 * By default every entry point drives them inside its own transaction: all
 * async checks of a pass (or of a batch's chunk) are started, then polled
 * together (sleeping on the latch) until each is done or past its timeout,
 * then finished and written, the claims held all along.  That is what an
 * explicit run (slo_run_checks, SloRunCheckIds, a guard) needs: the caller's
 * transaction cannot be committed under it.
 *
 * A run worker should not hold a transaction open on network I/O, so it
 * calls SloAsyncDefer(true) once and then loops:
 *
 *     StartTransactionCommand();
 *     SloRunDueBatch(ext, max, budget, &next_due);  -- starts async checks and
 *                                        -- parks them: their claim ends at
 *                                        -- commit, a lease (next_run = start
 *                                        -- + timeout + 1 s) keeps due runs off
 *     CommitTransactionCommand();
 *     wait = SloAsyncPoll();             -- NO transaction open: polls every
 *                                        -- parked check; -1 none in flight,
 *                                        -- 0 some are done, else ms to sleep
 *     if (wait == 0) {
 *         StartTransactionCommand();
 *         SloAsyncFinish(ext);           -- re-claims each done one (SKIP
 *                                        -- LOCKED), checks its lease is still
 *                                        -- its own, finishes it sealed (or
 *                                        -- records its timeout) and writes
 *         CommitTransactionCommand();    -- result, state and alert
 *     }
 *     sleep on the latch for min(wait, time to next_due)
 *
 * A parked check that was altered, dropped, disabled, run by an explicit run
 * meanwhile (its lease no longer matches) or is held elsewhere at finish is
 * let go (released, not written); a worker that dies with parked checks loses
 * only time: their leases run out and they are due again.  Nothing is written
 * twice: only the holder of the lease writes, under a claim.
 */
extern void SloAsyncDefer(bool on);
extern long SloAsyncPoll(void);
extern int	SloAsyncFinish(const SloExtension *ext);
extern int	SloAsyncInFlight(void);
/* Release every parked check without writing it (their leases run out). */
extern void SloAsyncDrop(void);

/*
 * Run exactly these checks now (the enabled ones among ids), due or not, in
 * the current transaction: first those nobody is running (SKIP LOCKED), then,
 * one by one, each one another session is running, waited for at most its
 * timeout (lock_timeout) and then run.  A check still locked when the wait
 * runs out gets an `error` result ("still running in another session after
 * N s") that is returned but not stored.  Results, state and alert
 * transitions are written as a pass does; results are added to out if not
 * NULL.  Used by slo_run_checks(false), explicit runs and guards.  Returns
 * the number of results.  The caller must not be connected to SPI.
 */
extern int	SloRunCheckIds(const SloExtension *ext, const int64 *ids, int n,
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
