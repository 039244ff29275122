/*-------------------------------------------------------------------------
 * extension.h
 *	  Where the extension lives (schema, owner) and how C code enters a
 *	  "bookkeeping" section: as the extension owner, with a safe search_path.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_EXTENSION_H
#define SLO_EXTENSION_H

#include "postgres.h"

/* The schema version this library serves (the control file's default_version). */
#define SLO_LIBRARY_VERSION "1.2"

typedef struct SloExtension
{
	Oid			extoid;
	Oid			nspoid;
	Oid			owner;
	char	   *nspname;		/* quoted, ready to prefix table names */
	char	   *version;		/* pg_extension.extversion */
	bool		version_ok;		/* this library serves that schema version */
} SloExtension;

/*
 * Fill *ext; false if the extension is not created in this database.  A
 * schema version this library does not serve (say 1.0 after the 1.1 library
 * was installed) is found, with version_ok false: check it before touching
 * slo_guard's tables (SloCheckSchemaVersion).
 */
extern bool SloFindExtension(SloExtension *ext);
/* Same, but raise a clear error if it is missing or of another version. */
extern void SloGetExtension(SloExtension *ext);
/* Error (55000, with the ALTER EXTENSION ... UPDATE hint) unless version_ok. */
extern void SloCheckSchemaVersion(const SloExtension *ext);

/*
 * Owners are kept by OID (slo_check.owner, a regrole) and by the name the
 * role had when it was recorded (owner_name).  The owner is intact when a
 * role with that OID exists under that name; a dropped role, or an OID now
 * used by another role, is not.
 */
extern bool SloOwnerIntact(Oid owner, const char *owner_name);
/* Error (42704) naming owner_name unless the owner is intact: a check never runs as another role. */
extern void SloCheckOwnerIntact(Oid owner, const char *owner_name);

/*
 * The ownership rule of every slo_guard object (checks; targets and
 * objectives later): roleid may change or drop an object owned by owner if
 * it is a superuser, or the owner is intact and roleid has its privileges
 * (is it, or a member that inherits it: the rule PostgreSQL applies to ALTER
 * on its own objects).  Otherwise 42501 "must be owner of <objtype> ...".
 */
extern void SloCheckOwnership(const char *objtype, const char *objname,
							  Oid owner, const char *owner_name, Oid roleid);

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
