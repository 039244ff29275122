/*-------------------------------------------------------------------------
 * alert.h
 *	  The alert state machine: given a check's previous state and a new
 *	  result, decide pending / firing / resolved, write slo_alert and
 *	  slo_alert_event, and NOTIFY.  Always called in the transaction that
 *	  writes the result.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_ALERT_H
#define SLO_ALERT_H

#include "extension.h"
#include "slo_guard.h"

/* State of a check before a result is applied (from slo_check_state). */
typedef struct SloAlertState
{
	int			fail_streak;
	TimestampTz first_fail_at;	/* 0 if none */
	int64		alert_id;		/* 0 if no open alert */
} SloAlertState;

/*
 * Apply one result to *state (updated in place).  Opens or resolves the alert
 * as needed, recording the event and sending NOTIFY.  Must be called inside a
 * bookkeeping section with SPI connected.
 */
extern void SloAlertApply(const SloExtension *ext, const SloCheck *check,
						  SloAlertState *state, const SloOutcome *out, TimestampTz at);

/*
 * Build the NOTIFY JSON for an event; never longer than NOTIFY allows
 * (long summary and labels are cut).
 */
extern char *SloAlertPayload(const char *event, int64 alert_id, const SloCheck *check,
							 const char *status, bool has_value, double value,
							 const char *summary, TimestampTz at);

/*
 * Resolve check_id's open alert, if any, because the check was disabled or is
 * being dropped: a `resolved` event whose summary is reason ("check disabled
 * by alice"), with its NOTIFY; the check's state forgets the alert (its
 * failure streak stays).  Bookkeeping section, SPI connected, the check's state row
 * locked by the caller.  Returns the alert id or 0.
 */
extern int64 SloAlertResolveManual(const SloExtension *ext, int64 check_id,
								   const char *reason);

/*
 * Issue 12: record (and, unless a silence matches the check, NOTIFY and
 * deliver) an event of alert_id that no result caused: acknowledged,
 * escalated, or a firing held back by a silence.  SPI connected,
 * bookkeeping section.
 */
extern void SloAlertRecordEvent(const SloExtension *ext, const char *event, int64 alert_id,
								const SloCheck *check, const SloOutcome *out, TimestampTz at);

#endif							/* SLO_ALERT_H */
