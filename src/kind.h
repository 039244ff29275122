/*-------------------------------------------------------------------------
 * kind.h
 *	  The table of check kinds.  A kind is a name, a param table, an optional
 *	  extra validator and a runner; adding a kind means one file in
 *	  src/kinds/ and one row in kind.c.
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
	 * the run loop records as an `error` result.
	 */
	void		(*run) (const SloCheck *check, SloOutcome *out);
} SloKind;

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
/* For those kinds (kinds/health.c): refuse to run without pg_read_all_stats's
 * privileges, which seeing other roles' sessions needs; "7 min 12 s". */
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
