/*-------------------------------------------------------------------------
 * slo_guard.c
 *	  Module entry point: _PG_init only hands over to each module's init.
 *
 *	  Where things are:
 *	    kind.c, kinds/      the table of check kinds and each kind's runner
 *	    params.c            validation of a check's params
 *	    api.c               slo_add_check / slo_alter_check / slo_drop_check
 *	    run.c               running checks (slo_run_checks, used by the worker)
 *	    alert.c             the alert state machine and NOTIFY payloads
 *	    extension.c         finding the extension's schema and owner
 *	    guc.c               slo_guard.* settings
 *	    outcome.c           helpers every module calls (slo_guard.h)
 *	    launcher.c          the launcher: one worker per listed database
 *	    wake.c              shared memory, wake-up on commit
 *	    scheduler.c         the per-database worker (timed jobs) and run workers
 *	    target.c            slo_add_target / slo_alter_target / slo_drop_target / slo_test_target
 *	    delivery.c          the delivery outbox and the worker's sender job
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "guc.h"
#include "launcher.h"
#include "run.h"
#include "wake.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	SloGucInit();
	SloRunInit();
	/* Loaded into a session, or by pg_upgrade: functions only, no worker. */
	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;
	SloWakeInit();
	SloLauncherInit();
}
