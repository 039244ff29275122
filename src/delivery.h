/*-------------------------------------------------------------------------
 * delivery.h
 *	  Alert delivery: targets (slo_add_target ... in target.c), the
 *	  slo_delivery outbox written with each notified alert event, and the
 *	  worker's sender job that sends it with libcurl (webhook, Slack,
 *	  PagerDuty, Alertmanager, e-mail), never inside an open transaction.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_DELIVERY_H
#define SLO_DELIVERY_H

#include "postgres.h"

#include "extension.h"

/* slo_guard.delivery_max_attempts, slo_guard.delivery_retry_max (s), slo_guard.delivery_timeout (ms). */
extern int	slo_delivery_max_attempts;
extern int	slo_delivery_retry_max_s;
extern int	slo_delivery_timeout_ms;

/* Define the delivery settings (called from SloGucInit). */
extern void SloDeliveryGucInit(void);

/*
 * Queue one delivery of a notified alert event per enabled target at or
 * above its severity (targets with a digest hold it for the digest), in the
 * event's transaction, and wake the worker at commit.  Bookkeeping section,
 * SPI connected (alert.c's RecordEvent).
 */
extern void SloDeliveryEnqueue(const SloExtension *ext, int64 event_id, int64 alert_id,
							   const char *event, const char *severity, const char *payload);

/* Wake the database's worker when this transaction commits (deliveries queued). */
extern void SloDeliveryWakeOnCommit(void);

/*
 * The worker's timed job "deliveries": repeats and digests due, then one
 * batch of due deliveries claimed (committed), sent, and their outcomes
 * written in a new transaction.  Returns ms until it should run again.
 */
extern long SloDeliveryJob(void);

#endif							/* SLO_DELIVERY_H */
