/*-------------------------------------------------------------------------
 * guc.h
 *	  slo_guard.* settings.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_GUC_H
#define SLO_GUC_H

typedef enum SloKeepOk
{
	SLO_KEEP_OK_ALL,
	SLO_KEEP_OK_CHANGES
} SloKeepOk;

extern char *slo_notify_channel;
extern int	slo_check_timeout_ms;
extern int	slo_keep_ok_results;

/* Worker settings (launcher.c, scheduler.c). */
extern char *slo_database;
extern int	slo_naptime_ms;
extern bool slo_enabled;
extern int	slo_result_retention_s;
extern int	slo_alert_retention_s;
extern int	slo_max_workers;

/* Probes (kinds/http.c); slo_allowed_hosts is in net.h. */
extern int	slo_max_concurrent_http;

extern void SloGucInit(void);

#endif							/* SLO_GUC_H */
