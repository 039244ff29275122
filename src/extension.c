/*-------------------------------------------------------------------------
 * extension.c
 *	  Finding slo_guard's schema and owner through pg_extension, and the
 *	  bookkeeping section every state-changing function enters.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "extension.h"
#include "slo_guard.h"

bool
SloFindExtension(SloExtension *ext)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	/*
	 * Lock the extension (as DROP EXTENSION does, in a stronger mode) until the
	 * end of the transaction, then look again, as RangeVarGetRelidExtended
	 * does for relations: a concurrent DROP EXTENSION either finished before
	 * we got the lock (we see it gone) or waits for our transaction, so a
	 * pass never finds the extension and then loses its tables under it.
	 */
	ext->extoid = get_extension_oid(SLO_EXTENSION_NAME, true);
	for (;;)
	{
		Oid			again;

		if (!OidIsValid(ext->extoid))
			return false;
		LockDatabaseObject(ExtensionRelationId, ext->extoid, 0, AccessShareLock);
		again = get_extension_oid(SLO_EXTENSION_NAME, true);
		if (again == ext->extoid)
			break;
		UnlockDatabaseObject(ExtensionRelationId, ext->extoid, 0, AccessShareLock);
		ext->extoid = again;
	}

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext->extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_extension form = (Form_pg_extension) GETSTRUCT(tup);
		char	   *nsp;
		Datum		d;
		bool		isnull;

		ext->nspoid = form->extnamespace;
		ext->owner = form->extowner;
		d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
		ext->version = isnull ? pstrdup("(none)") : TextDatumGetCString(d);
		ext->version_ok = strcmp(ext->version, SLO_LIBRARY_VERSION) == 0;
		nsp = get_namespace_name(ext->nspoid);
		if (nsp != NULL)
		{
			ext->nspname = pstrdup(quote_identifier(nsp));
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

void
SloGetExtension(SloExtension *ext)
{
	if (!SloFindExtension(ext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not created in database \"%s\"",
						SLO_EXTENSION_NAME, get_database_name(MyDatabaseId)),
				 errhint("Run CREATE EXTENSION %s in this database.", SLO_EXTENSION_NAME)));
	SloCheckSchemaVersion(ext);
}

int
SloPushSearchPath(const char *path)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

void
SloEnterBookkeeping(const SloExtension *ext, SloBookkeeping *bk)
{
	GetUserIdAndSecContext(&bk->saved_user, &bk->saved_sec);
	bk->gucnest = SloPushSearchPath("pg_catalog, pg_temp");
	SetUserIdAndSecContext(ext->owner, bk->saved_sec | SECURITY_LOCAL_USERID_CHANGE);
}

void
SloLeaveBookkeeping(SloBookkeeping *bk)
{
	SetUserIdAndSecContext(bk->saved_user, bk->saved_sec);
	AtEOXact_GUC(true, bk->gucnest);
}

/*
 * As pg_stat_statements does for its API version: a library that meets a
 * schema it was not built for says so rather than failing on a missing
 * column halfway through.
 */
void
SloCheckSchemaVersion(const SloExtension *ext)
{
	if (ext->version_ok)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s's schema is version %s but the library is %s",
					SLO_EXTENSION_NAME, ext->version, SLO_LIBRARY_VERSION),
			 errdetail("The library installed (%s.so) serves schema version %s only.",
					   SLO_EXTENSION_NAME, SLO_LIBRARY_VERSION),
			 errhint("Run ALTER EXTENSION %s UPDATE.", SLO_EXTENSION_NAME)));
}

bool
SloOwnerIntact(Oid owner, const char *owner_name)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	bool		intact;

	if (!HeapTupleIsValid(tup))
		return false;
	intact = owner_name != NULL &&
		strcmp(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname), owner_name) == 0;
	ReleaseSysCache(tup);
	return intact;
}

void
SloCheckOwnerIntact(Oid owner, const char *owner_name)
{
	HeapTuple	tup;

	if (SloOwnerIntact(owner, owner_name))
		return;
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the role that added this check (\"%s\") was dropped",
						owner_name ? owner_name : "?"),
				 errdetail("No role has OID %u any more; the check is not run as any other role.",
						   owner),
				 errhint("Drop the check, or have another role take it over with slo_alter_check(name, params => ...).")));
	else
	{
		char	   *now_name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the role that added this check (\"%s\") was dropped",
						owner_name ? owner_name : "?"),
				 errdetail("Its OID %u now belongs to role \"%s\" (a new role, or the old one renamed); the check is not run as that role.",
						   owner, now_name),
				 errhint("Drop the check, or have another role take it over with slo_alter_check(name, params => ...).")));
	}
}

void
SloCheckOwnership(const char *objtype, const char *objname,
				  Oid owner, const char *owner_name, Oid roleid)
{
	const char *oname = owner_name ? owner_name : "?";
	bool		intact;

	if (superuser_arg(roleid))
		return;
	intact = SloOwnerIntact(owner, owner_name);
	if (intact && has_privs_of_role(roleid, owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("must be owner of %s \"%s\" (owned by role \"%s\")", objtype, objname, oname),
			 intact ?
			 errdetail("Role \"%s\" is neither role \"%s\" nor a member of it with its privileges, nor a superuser.",
					   GetUserNameFromId(roleid, false), oname) :
			 errdetail("Role \"%s\" was dropped: only a superuser may alter or drop the %s.",
					   oname, objtype),
			 errhint("Only the %s's owner, a member of the owning role, or a superuser may alter or drop it.",
					 objtype)));
}
