/*-------------------------------------------------------------------------
 * outcome.c
 *	  The helpers every module calls (declared in slo_guard.h): status names,
 *	  filling a check's outcome, clipping text.  They were in slo_guard.c
 *	  beside _PG_init; here they depend on nothing but PostgreSQL.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "mb/pg_wchar.h"

#include "slo_guard.h"

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

char *
SloRequiredText(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}
