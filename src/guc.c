/*-------------------------------------------------------------------------
 * guc.c
 *	  Definition of every slo_guard.* setting, under a reserved prefix.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "commands/async.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "delivery.h"
#include "guc.h"
#include "net.h"
#include "oncall.h"

char	   *slo_notify_channel = NULL;
int			slo_check_timeout_ms = 10000;
int			slo_keep_ok_results = SLO_KEEP_OK_ALL;
char	   *slo_database = NULL;
int			slo_naptime_ms = 1000;
bool		slo_enabled = true;
int			slo_result_retention_s = 30 * 24 * 3600;
int			slo_alert_retention_s = 365 * 24 * 3600;
int			slo_max_workers = 2;
int			slo_max_concurrent_http = 100;

static const struct config_enum_entry keep_ok_options[] = {
	{"all", SLO_KEEP_OK_ALL, false},
	{"changes", SLO_KEEP_OK_CHANGES, false},
	{NULL, 0, false}
};

/* A channel name must be a valid identifier length for NOTIFY. */
static bool
check_notify_channel(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("The channel name must not be empty.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("The channel name must be shorter than %d bytes.", NAMEDATALEN);
		return false;
	}
	return true;
}

/*
 * slo_guard.database: a comma-separated list of database names, taken as
 * written (not downcased, as shared_preload_libraries); quote a name that
 * contains a comma.  Empty means no worker.
 */
static bool
check_database_list(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		ok = true;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;

	raw = pstrdup(*newval);
	if (!SplitGUCList(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: give database names separated by commas, in double quotes if a name contains a comma.");
		pfree(raw);
		list_free(names);
		return false;
	}
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);
		ListCell   *lc2;

		if (strlen(name) >= NAMEDATALEN)
		{
			GUC_check_errdetail("Database name \"%s\" is longer than %d bytes.", name, NAMEDATALEN - 1);
			ok = false;
			break;
		}
		for (lc2 = list_head(names); lc2 != lc; lc2 = lnext(names, lc2))
			if (strcmp((const char *) lfirst(lc2), name) == 0)
			{
				GUC_check_errdetail("Database \"%s\" is listed twice.", name);
				ok = false;
				break;
			}
		if (!ok)
			break;
	}
	list_free(names);
	pfree(raw);
	return ok;
}

void
SloGucInit(void)
{
	DefineCustomStringVariable("slo_guard.notify_channel",
							   gettext_noop("NOTIFY channel on which alert events are sent."),
							   NULL,
							   &slo_notify_channel,
							   "slo_guard",
							   PGC_SUSET, 0,
							   check_notify_channel, NULL, NULL);

	DefineCustomIntVariable("slo_guard.check_timeout",
							gettext_noop("Longest time one check may run before it is cancelled and recorded as an error."),
							gettext_noop("A sql check's own \"timeout\" param can lower it, never raise it."),
							&slo_check_timeout_ms,
							10000, 10, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("slo_guard.keep_ok_results",
							 gettext_noop("Which ok results are kept in slo_result: all, or only changes of status."),
							 NULL,
							 &slo_keep_ok_results,
							 SLO_KEEP_OK_ALL, keep_ok_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("slo_guard.database",
							   gettext_noop("Database(s) the background worker serves, comma-separated."),
							   gettext_noop("One worker runs per database listed; a database added on reload gets its worker without a restart, one removed loses it."),
							   &slo_database,
							   "postgres",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_database_list, NULL, NULL);

	DefineCustomIntVariable("slo_guard.naptime",
							gettext_noop("How long the worker sleeps between passes when no check is due sooner."),
							NULL,
							&slo_naptime_ms,
							1000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("slo_guard.enabled",
							 gettext_noop("Whether the background worker runs checks."),
							 NULL,
							 &slo_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("slo_guard.result_retention",
							gettext_noop("How long results are kept in slo_result before the worker trims them."),
							NULL,
							&slo_result_retention_s,
							30 * 24 * 3600, 60, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("slo_guard.alert_retention",
							gettext_noop("How long resolved alerts (with their events) are kept before the worker trims them."),
							gettext_noop("Counted from when the alert resolved; open alerts are never trimmed."),
							&slo_alert_retention_s,
							365 * 24 * 3600, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("slo_guard.max_workers",
							gettext_noop("Processes that run checks in each database served: its worker and max_workers - 1 run workers."),
							gettext_noop("Each takes a background worker slot (max_worker_processes)."),
							&slo_max_workers,
							2, 1, 32,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* issue 11, probes: src/net.c, src/kinds/http.c */
	DefineCustomStringVariable("slo_guard.allowed_hosts",
							   gettext_noop("Hosts that http checks and delivery targets may reach: host names and CIDR ranges, comma-separated."),
							   gettext_noop("Empty allows none, '*' any. Checked when a check or target is added and again on the address connected to."),
							   &slo_allowed_hosts,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   SloAllowedHostsCheck, NULL, NULL);

	DefineCustomIntVariable("slo_guard.max_concurrent_http",
							gettext_noop("Most http probes one process has in flight at once; the others wait their turn."),
							NULL,
							&slo_max_concurrent_http,
							100, 1, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* issue 11, delivery: src/delivery.c */
	SloDeliveryGucInit();
	SloOncallGucInit();			/* issue 12: response_time_p0..p3 (oncall.c) */

	MarkGUCPrefixReserved("slo_guard");
}
