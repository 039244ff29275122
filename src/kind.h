/*-------------------------------------------------------------------------
 * kind.h
 *	  The table of check kinds.  A kind is a name, a param table, an optional
 *	  extra validator, a runner (or the asynchronous start / poll / finish)
 *	  and its metadata (timeout param, needs pg_read_all_stats, can guard,
 *	  values are latencies); adding a kind means one file in src/kinds/ and
 *	  one row in kind.c.  No other code names a kind.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_KIND_H
#define SLO_KIND_H

#include "slo_guard.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "storage/lockdefs.h"

#include "params.h"

typedef struct SloKind
{
	const char *name;
	const char *description;
	const SloParam *params;
	/* Optional checks beyond the param table (cross-key rules, syntax). */
	void		(*validate) (Jsonb *params);
	/*
	 * Run the check once and fill *out.  Called inside a subtransaction, as the
	 * check's owner, with the check's search_path; it may ereport(ERROR), which
	 * the run loop records as an `error` result.  NULL for an asynchronous kind.
	 */
	void		(*run) (const SloCheck *check, SloOutcome *out);

	/* ---- metadata: what other code must know about the kind ---- */

	/* Name of the interval param that may lower the check's timeout (never
	 * raise it past slo_guard.check_timeout), e.g. "timeout"; NULL: none. */
	const char *timeout_param;
	/* Needs the privileges of pg_read_all_stats (other roles' sessions): the
	 * run loop refuses to run it for an owner without them (an `error`). */
	bool		needs_stats;
	/* May guard DDL (run from inside a DDL command: fast, catalog only). */
	bool		can_guard;
	/* Its values are latencies in milliseconds (window says "ms"). */
	bool		value_is_latency;

	/*
	 * ---- asynchronous kinds (run == NULL) ----
	 *
	 * start: begin the work (say, queue a request) and return its state,
	 * allocated in statecxt (which lives until the check ends); called like
	 * run (sealed: subtransaction, owner, search_path, timeout).  It may
	 * instead set a final outcome in *out (an error, an immediate answer) and
	 * return NULL.
	 *
	 * poll: is the work done?  Called outside the sealed context, perhaps with
	 * no transaction open, so it must not touch the database (network I/O
	 * only).  Returns true when done; else sets *wait_ms (how long the caller
	 * may sleep before polling again; the latch may wake it sooner).  It must
	 * not throw.
	 *
	 * finish: turn the state into the outcome; called sealed like start.
	 *
	 * release (optional): called once when the run loop is done with the
	 * state, whatever happened (finished, timed out, failed, or the pass
	 * ended with an error): give the work up, close sockets and the like.
	 * Must not throw.
	 *
	 * The check's timeout counts from start to the end of finish.
	 */
	void	   *(*start) (const SloCheck *check, MemoryContext statecxt, SloOutcome *out);
	bool		(*poll) (void *state, long *wait_ms);
	void		(*finish) (const SloCheck *check, void *state, SloOutcome *out);
	void		(*release) (void *state);
} SloKind;

#define SloKindIsAsync(k) ((k)->run == NULL && (k)->start != NULL)

/* Look a kind up by name; NULL if unknown. */
extern const SloKind *SloFindKind(const char *name);
/* Look a kind up, or raise 22023 naming it with the accepted kinds as hint. */
extern const SloKind *SloGetKind(const char *name);
/* Validate params for kind (generic table then kind->validate). */
extern void SloValidateCheckParams(const SloKind *kind, Jsonb *params);

/* Kinds, one per file in src/kinds/. */
extern const SloKind SloKindTableExists;
extern const SloKind SloKindColumnsExist;
extern const SloKind SloKindFunctionExists;
extern const SloKind SloKindMigration;
extern const SloKind SloKindSetting;
extern const SloKind SloKindSql;
extern const SloKind SloKindTableGrowth;	/* kinds/growth.c */
extern const SloKind SloKindWindow;	/* kinds/window.c */
/* Database health (kinds/health.c, replication.c, slow_queries.c). */
extern const SloKind SloKindConnections;
extern const SloKind SloKindWraparound;
extern const SloKind SloKindLongTransactions;
extern const SloKind SloKindRlsDisabled;
extern const SloKind SloKindReplicationLag;
extern const SloKind SloKindSlowQueries;
/* HTTP probes (kinds/http.c; asynchronous). */
extern const SloKind SloKindHttp;
extern const SloKind SloKindFailingChecks;	/* kinds/failing.c (issue 12) */
/* An objective's burn-rate check (objective.c); internal. */
extern const SloKind SloKindObjective;
#ifdef SLO_TEST_KINDS
/* Test builds only (-DSLO_TEST_KINDS): an asynchronous kind (kinds/test_async.c). */
extern const SloKind SloKindTestAsync;
#endif
/* For kinds with needs_stats (the run loop calls it; kinds/health.c): refuse
 * to run without pg_read_all_stats's privileges, which seeing other roles'
 * sessions needs; "7 min 12 s". */
extern void SloRequireStatsPrivilege(const char *kind);
extern char *SloFormatDuration(double seconds);

/* Shared by kinds (kinds/common.c). */
extern List *SloParseQualifiedName(const char *str);
extern Oid	SloLookupRelation(const char *name, LOCKMODE lockmode);
extern void SloKeptQuery(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
						 Datum *values);
extern char *SloColText(uint64 row, int col);
extern double SloColFloat(uint64 row, int col, bool *isnull);
extern int64 SloColInt8(uint64 row, int col);
extern bool SloColBool(uint64 row, int col);

/*
 * For runners (kinds/common.c): SloRunParams validates the check's params as
 * slo_add_check does (a bad row becomes an `error` naming the key, 22023);
 * SloRunString / SloRunNames read a required key and never return NULL.
 */
extern void SloRunParams(const SloCheck *check);
extern const char *SloRunString(const SloCheck *check, const char *key);
extern char **SloRunNames(const SloCheck *check, const char *key, int *n);
/* Run code that reads user data; errors that may quote row values lose their text. */
extern void SloRunUserCode(const char *what, void (*fn) (void *), void *arg);

/*
 * Raise the standard 22023 error for a bad value of one key of kind (by
 * name), hinting at the params that kind accepts (params.h does the rest;
 * it lives here so that params.c needs nothing from the kind table).
 */
extern void SloParamError(const char *kind, const char *key, const char *value,
						  const char *detail) pg_attribute_noreturn();

#endif							/* SLO_KIND_H */
