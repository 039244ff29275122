/*-------------------------------------------------------------------------
 * extension.h
 *	  Where the extension lives (schema, owner) and how C code enters a
 *	  "bookkeeping" section: as the extension owner, with a safe search_path.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_EXTENSION_H
#define SLO_EXTENSION_H

#include "postgres.h"

typedef struct SloExtension
{
	Oid			extoid;
	Oid			nspoid;
	Oid			owner;
	char	   *nspname;		/* quoted, ready to prefix table names */
} SloExtension;

/* Fill *ext; false if the extension is not created in this database. */
extern bool SloFindExtension(SloExtension *ext);
/* Same, but raise a clear error if it is missing. */
extern void SloGetExtension(SloExtension *ext);

/* State saved by SloEnterBookkeeping, restored by SloLeaveBookkeeping. */
typedef struct SloBookkeeping
{
	Oid			saved_user;
	int			saved_sec;
	int			gucnest;
} SloBookkeeping;

/*
 * Switch to the extension owner with search_path = pg_catalog, pg_temp, so
 * that slo_guard's own tables are written by their owner whatever role calls
 * the API (the role needs only EXECUTE), and nothing a caller puts on its
 * search_path can capture our queries.  An error in between is cleaned up by
 * (sub)transaction abort.
 */
extern void SloEnterBookkeeping(const SloExtension *ext, SloBookkeeping *bk);
extern void SloLeaveBookkeeping(SloBookkeeping *bk);

/* Set search_path in a new GUC nest level; returns the level for AtEOXact_GUC. */
extern int	SloPushSearchPath(const char *path);

#endif							/* SLO_EXTENSION_H */
