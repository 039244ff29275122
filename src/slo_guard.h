/*-------------------------------------------------------------------------
 * slo_guard.h
 *	  Types shared by every module: a check as the run loop sees it, and the
 *	  outcome of one run of it.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_GUARD_H
#define SLO_GUARD_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#define SLO_EXTENSION_NAME "slo_guard"

/* Status of one result, in order of badness. */
typedef enum SloStatus
{
	SLO_OK = 0,
	SLO_WARN,
	SLO_FAIL,
	SLO_ERROR
} SloStatus;

struct SloKind;
struct SloExtension;

/* A check as loaded for one run (from slo_check). */
typedef struct SloCheck
{
	int64		id;
	char	   *name;
	const struct SloKind *kind;
	Jsonb	   *params;
	char	   *severity;		/* "P0".."P3" */
	Jsonb	   *labels;
	Oid			owner;
	char	   *owner_name;		/* the owner's name when recorded (slo_check.owner_name) */
	char	   *search_path;
	int			fail_after;
	int64		every_us;
	/* where slo_guard lives; a runner that keeps its own history writes there
	 * inside SloEnterBookkeeping()/SloLeaveBookkeeping() (extension.h) */
	const struct SloExtension *ext;
} SloCheck;

/*
 * What a kind's runner reports.  The runner fills status/value/summary and may
 * leave detail NULL; detail is a JSON text (never user row content).  Strings
 * must live in cxt (set by the run loop): SloOutcomeSet/SloOutcomeDetail do that,
 * so runners may call them while connected to SPI.
 */
typedef struct SloOutcome
{
	MemoryContext cxt;
	SloStatus	status;
	bool		has_value;
	double		value;
	char	   *summary;
	char	   *detail;			/* JSON text or NULL */
	/* severity of the alert this result opens or keeps open, if not the
	 * check's own (kind "objective": P1/P2/P3 by burn rate); NULL: the check's */
	const char *severity;
} SloOutcome;

extern const char *SloStatusName(SloStatus status);
extern bool SloStatusFromName(const char *name, SloStatus *status);

/* Convenience for runners: set status, value and a printf-style summary. */
extern void SloOutcomeSet(SloOutcome *out, SloStatus status, bool has_value,
						  double value, const char *fmt,...) pg_attribute_printf(5, 6);

/*
 * s itself if it has at most maxbytes bytes, else a copy cut on a character
 * boundary (pg_mbcliplen) and ending in "...", at most maxbytes bytes in all.
 * Every text slo_guard shortens goes through here.
 */
extern char *SloClipText(const char *s, int maxbytes);

/*
 * The text argument argno of a SQL-callable function, which must not be NULL
 * (22004, naming argname).
 */
extern char *SloRequiredText(FunctionCallInfo fcinfo, int argno, const char *argname);

/* Set detail (a JSON text) in the outcome's context. */
extern void SloOutcomeDetail(SloOutcome *out, const char *json);

#endif							/* SLO_GUARD_H */
