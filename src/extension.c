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
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

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

	ext->extoid = get_extension_oid(SLO_EXTENSION_NAME, true);
	if (!OidIsValid(ext->extoid))
		return false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext->extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_extension form = (Form_pg_extension) GETSTRUCT(tup);
		char	   *nsp;

		ext->nspoid = form->extnamespace;
		ext->owner = form->extowner;
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
