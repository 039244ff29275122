/*-------------------------------------------------------------------------
 * oncall.h
 *	  On-call (issue 12): slo_ack, escalation, silences.
 *
 *	  Acknowledgements, escalations and the firing events re-sent when a
 *	  silence ends all go through the alert module's one event writer
 *	  (SloAlertRecordEvent), so they are stored, notified and delivered like
 *	  the events of results.  While an active silence matches a check's name
 *	  (LIKE), its events are stored with notified = false and go nowhere.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_ONCALL_H
#define SLO_ONCALL_H

#include "postgres.h"

#include "extension.h"

/* SQL: an active silence s: started, not ended by hand, not expired. */
#define SLO_SILENCE_ACTIVE \
	"s.ended_at IS NULL AND s.starts_at <= now() AND s.ends_at > now()"

/* slo_guard.response_time_p0 .. _p3, in seconds. */
extern int	slo_response_time_s[4];

/* Define the on-call settings (called from SloGucInit). */
extern void SloOncallGucInit(void);

/*
 * Does an active silence match check_name now?  SPI connected, inside a
 * bookkeeping section (the caller of RecordEvent is).
 */
extern bool SloSilenced(const SloExtension *ext, const char *check_name);

/* Is pattern a LIKE pattern PostgreSQL accepts (no lone trailing backslash)? */
extern bool SloLikePatternValid(const char *pattern);

/*
 * The worker's on-call job (a row of jobs[] in scheduler.c): escalate firing
 * alerts not acknowledged within their response time, end expired silences
 * and send the firing events they held back.  Own transaction; returns -1
 * (run again after the job's interval).
 */
extern long SloOncallJob(void);

#endif							/* SLO_ONCALL_H */
