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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "guc.h"
#include "run.h"
#include "slo_guard.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	SloGucInit();
	SloRunInit();
	SloWorkerInit();
}

static const char *const status_names[] = {"ok", "warn", "fail", "error"};

const char *
SloStatusName(SloStatus status)
{
	return status_names[status];
}

bool
SloStatusFromName(const char *name, SloStatus *status)
{
	for (int i = 0; i < (int) lengthof(status_names); i++)
		if (strcmp(status_names[i], name) == 0)
		{
			*status = (SloStatus) i;
			return true;
		}
	return false;
}

void
SloOutcomeSet(SloOutcome *out, SloStatus status, bool has_value, double value,
			  const char *fmt,...)
{
	va_list		args;
	StringInfoData buf;
	MemoryContext old = MemoryContextSwitchTo(out->cxt ? out->cxt : CurrentMemoryContext);

	out->status = status;
	out->has_value = has_value;
	out->value = value;
	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	out->summary = buf.data;
	MemoryContextSwitchTo(old);
}

char *
SloClipText(const char *s, int maxbytes)
{
	int			len = strlen(s);

	if (len <= maxbytes)
		return (char *) s;
	len = pg_mbcliplen(s, len, Max(maxbytes - 3, 0));
	return psprintf("%.*s...", len, s);
}

void
SloOutcomeDetail(SloOutcome *out, const char *json)
{
	out->detail = json ? MemoryContextStrdup(out->cxt ? out->cxt : CurrentMemoryContext, json) : NULL;
}
