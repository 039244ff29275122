/*-------------------------------------------------------------------------
 * objective.h
 *	  Objectives (SLOs, issue 13): exact per-minute and per-hour rollups of
 *	  good and total results, written where results are produced; the
 *	  objective check kind that turns burn rates into the alert
 *	  "objective:<name>"; the rules that keep the internal checks internal.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_OBJECTIVE_H
#define SLO_OBJECTIVE_H

#include "extension.h"
#include "slo_guard.h"

/*
 * Count one result of check into the rollups of every objective over it.
 * Called by the run loop for every result it applies (stored or not), in the
 * transaction that writes it, inside a bookkeeping section with SPI
 * connected.  Costs a lookup in a backend-local set (loaded once per
 * transaction) when the check has no objective.
 */
extern void SloObjectivesRecord(const SloExtension *ext, const SloCheck *check,
								const SloOutcome *out, TimestampTz at);

/* slo_add_check / slo_alter_check: kind "objective" is internal (22023). */
extern void SloObjectiveRefuseKind(const char *kindname);
/* slo_alter_check / slo_drop_check on "objective:<name>" (an objective's own check): 42501. */
extern void SloObjectiveRefuseInternal(const char *checkname, const char *kindname);
/* slo_drop_check of a check an objective measures: 2BP01 naming the objective. */
extern void SloObjectivesRefuseDrop(const SloExtension *ext, int64 check_id, const char *name);

#endif							/* SLO_OBJECTIVE_H */
