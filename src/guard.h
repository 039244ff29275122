/*-------------------------------------------------------------------------
 * guard.h
 *	  Guards (issue 14): table_exists, columns_exist and function_exists
 *	  checks with "guard": true or "block" are re-run by the event triggers
 *	  slo_guard_ddl_end (ddl_command_end) and slo_guard_sql_drop (sql_drop)
 *	  inside the transaction of the DDL that touched what they watch.
 *
 *	  SQL-callable: slo_guard_ddl() (event trigger) and slo_guard_watch_sync()
 *	  (trigger on slo_check keeping the slo_guard_watch index).
 *-------------------------------------------------------------------------
 */
#ifndef SLO_GUARD_GUARD_H
#define SLO_GUARD_GUARD_H

#include "postgres.h"

/* SQLSTATE of a DDL command refused by a check in "block" mode. */
#define SLO_ERRCODE_GUARD_BLOCKED	MAKE_SQLSTATE('S','G','0','0','1')

#endif							/* SLO_GUARD_GUARD_H */
