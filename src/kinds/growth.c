/*-------------------------------------------------------------------------
 * growth.c
 *	  Check kind "table_growth": size and row estimate of a list of tables,
 *	  limits on both and on the growth per day, and a forecast of the days
 *	  until a limit is reached.
 *
 *	  Each run measures every table (pg_total_relation_size, which counts
 *	  TOAST and indexes; pg_class.reltuples as the row estimate, or the live
 *	  tuple count of the statistics when the table was never analyzed; a
 *	  partitioned table is the sum of its leaf partitions) as the check's
 *	  owner, from the caches and the files, without SPI.  Measuring reads no
 *	  row, so the owner needs no privilege on the tables.
 *
 *	  History: slo_table_size holds one compact sample (check, relid, at,
 *	  bytes, rows) per table at most every max(the check's interval, 1 hour),
 *	  whatever the check's interval: day-scale forecasts need no more, and a
 *	  10,000-table check stores at most 240,000 rows a day.  Samples are kept
 *	  7 days (the fit window), and the first sample of each UTC day ("daily")
 *	  35 days, so a table costs at most about 170 + 28 rows.  The runner trims
 *	  expired samples of its own check in batches right after storing new ones,
 *	  and slo_drop_check() removes them by ON DELETE CASCADE.  Samples are
 *	  keyed by relid: a table dropped and re-created under the same name
 *	  starts a new history.  They are written as the extension owner
 *	  (SloEnterBookkeeping).
 *
 *	  Cost of a run: measuring (pg_total_relation_size opens each table, its
 *	  indexes and TOAST table and stats their files: about 100 us a table)
 *	  plus the fit, about 0.4 us per stored sample, i.e. some 70 us a table
 *	  once a week of hourly samples exists (bench/growth_10k.sh).  Growth is
 *	  a slow signal: "every" of 15 minutes or an hour suits large checks.
 *
 *	  Every run fits least-squares lines (regr_slope) through the stored
 *	  samples plus the measurement just taken, so the answer follows the
 *	  current size at every run even though samples are stored hourly:
 *	    - bytes/day and rows/day over the last 7 days: the forecast.  With a
 *	      growing table, days to limit = (limit - current) / slope, for
 *	      max_bytes and max_rows; a forecast needs 3 points over at least one
 *	      hour, and one beyond 100 years counts as none;
 *	    - bytes/day over the last day (plus one sample interval, so a daily
 *	      check has two points): compared with max_growth_per_day; needs 2
 *	      points over at least one hour.
 *
 *	  Status of a table: fail when bytes > max_bytes, rows > max_rows or the
 *	  last day's growth > max_growth_per_day; warn when a forecast reaches
 *	  max_bytes or max_rows within warn_days_to_limit (default 7 days when a
 *	  max_bytes or max_rows is set); a table that does not exist fails.  The
 *	  check's status is the worst table's.
 *
 *	  value = the size in bytes of the table the summary is about: the worst
 *	  one, or, when all are within limits, the one nearest a limit (or the
 *	  largest).  Bytes rather than days to limit because there always is a
 *	  size, while a forecast needs history and growth; NULL when that table
 *	  is missing.  detail lists per table bytes, rows, slopes and days to
 *	  limit (the 50 worst tables; never row content).
 *
 *	  Known limits: the 7-day line does not notice a change of regime (after
 *	  a big DELETE and VACUUM FULL the slope stays negative, and no forecast
 *	  is made, until the samples before it age out); sizes are measured under
 *	  an AccessShareLock per table, so a table held by a long ACCESS
 *	  EXCLUSIVE lock (a migration's ALTER TABLE) makes the run wait, and an
 *	  `error` after the check timeout.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "extension.h"
#include "kind.h"

#define KIND_NAME "table_growth"

#define FIT_WINDOW_DAYS 7		/* samples kept and fitted for the forecast */
#define DAILY_KEEP_DAYS 35		/* the first sample of a day is kept this long */
#define MIN_SPACING_US USECS_PER_HOUR	/* at most one stored sample per hour */
#define MIN_SPAN_DAYS (1.0 / 24.0)	/* a slope needs points an hour apart */
#define MAX_FORECAST_DAYS 36500.0	/* beyond a century: no forecast */
#define DEFAULT_WARN_DAYS 7.0
#define DETAIL_MAX_TABLES 50

static const SloParam params[] = {
	{"tables", SLO_PARAM_NAME_ARRAY, true, SLO_NO_RANGE},
	{"max_bytes", SLO_PARAM_NUMBER, false, 0, DBL_MAX},
	{"max_rows", SLO_PARAM_NUMBER, false, 0, DBL_MAX},
	{"max_growth_per_day", SLO_PARAM_NUMBER, false, 0, DBL_MAX},
	{"warn_days_to_limit", SLO_PARAM_NUMBER, false, 0, DBL_MAX},
	SLO_PARAM_END
};

/* Why a table has its status. */
typedef enum GrowthReason
{
	GR_OK,
	GR_FORECAST_BYTES,
	GR_FORECAST_ROWS,
	GR_GROWTH,
	GR_ROWS,
	GR_BYTES,
	GR_MISSING
} GrowthReason;

/* One watched table in one run. */
typedef struct GrowthTable
{
	const char *name;			/* as given in params */
	Oid			relid;			/* InvalidOid: missing */
	int			first;			/* index of the entry with the same relid */
	int64		bytes;
	double		rows;
	/* from the history */
	int			npoints;
	bool		has_fit;
	double		bytes_per_day;
	double		rows_per_day;
	bool		has_rate;
	double		growth_last_day;
	TimestampTz last_at;		/* 0: no stored sample in the window */
	/* judgement */
	bool		has_days_bytes;
	double		days_bytes;
	bool		has_days_rows;
	double		days_rows;
	SloStatus	status;
	GrowthReason reason;
	double		score;			/* orders tables of the same status */
} GrowthTable;

/* The limits of one check. */
typedef struct GrowthLimits
{
	bool		has_bytes,
				has_rows,
				has_growth;
	double		max_bytes,
				max_rows,
				max_growth,
				warn_days;
} GrowthLimits;

/* "1.2 GB", "50 GB", "834 kB", "512 bytes": binary units, as pg_size_pretty. */
static char *
Bytes(double b)
{
	static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
	int			u = 0;
	double		v = b;
	char	   *s;

	while (fabs(v) >= 1024.0 && u < (int) lengthof(units) - 1)
	{
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		return psprintf("%.0f bytes", v);
	if (fabs(v) >= 9.95)
		return psprintf("%.0f %s", v, units[u]);
	s = psprintf("%.1f %s", v, units[u]);
	/* "1.0 GB" reads as "1 GB" */
	if (strncmp(s + strlen(s) - strlen(units[u]) - 3, ".0 ", 3) == 0)
		s = psprintf("%.0f %s", v, units[u]);
	return s;
}

/* A number of days for summaries: "3.1", "412". */
static char *
Days(double d)
{
	return d < 100 ? psprintf("%.1f", d) : psprintf("%.0f", d);
}

/* A row count for summaries. */
static char *
Rows(double r)
{
	return psprintf("%.0f", r);
}

/* The date of now + days in the session's time zone (the server's for the worker). */
static char *
DateAfter(TimestampTz now, double days)
{
	TimestampTz ts = now + (TimestampTz) (days * USECS_PER_DAY);
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("?");
	return psprintf("%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* Tables must parse as [schema.]name; at least one limit; a forecast needs one. */
static void
growth_validate(Jsonb *p)
{
	int			n;
	char	  **tables = SloParamStringArray(p, "tables", &n);
	double		d;
	bool		has_bytes = SloParamNumber(p, "max_bytes", &d);
	bool		has_rows = SloParamNumber(p, "max_rows", &d);
	bool		has_growth = SloParamNumber(p, "max_growth_per_day", &d);

	for (int i = 0; i < n; i++)
	{
		List	   *l = SloParseQualifiedName(tables[i]);

		if (l == NIL || list_length(l) > 2)
			SloParamError(KIND_NAME, "tables", quote_literal_cstr(tables[i]),
						  "Each element must be a table name or schema.table, quoted as in SQL where needed.");
	}
	if (SloParamNumber(p, "warn_days_to_limit", &d))
	{
		if (d <= 0)
			SloParamError(KIND_NAME, "warn_days_to_limit", SloParamText(p, "warn_days_to_limit"),
						  "The value must be a number of days greater than 0.");
		if (!has_bytes && !has_rows)
			SloParamError(KIND_NAME, "warn_days_to_limit", SloParamText(p, "warn_days_to_limit"),
						  "A forecast needs a limit to reach: set max_bytes or max_rows too.");
	}
	if (!has_bytes && !has_rows && !has_growth)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check kind \"%s\" needs at least one limit", KIND_NAME),
				 errdetail("Without max_bytes, max_rows or max_growth_per_day the check could never fail."),
				 errhint("Add for example \"max_bytes\": 53687091200 (50 GB).")));
}

/* qsort: by relid, then by position in params. */
static int
CompareByRelid(const void *a, const void *b)
{
	const GrowthTable *x = *(const GrowthTable *const *) a;
	const GrowthTable *y = *(const GrowthTable *const *) b;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Resolve each name with the check's search_path and refuse what is not a
 * table.  Two names for one table (gr and public.gr) are measured once: the
 * later ones point at the first (sorting by relid keeps this O(n log n) for
 * checks of thousands of tables).
 */
static void
ResolveTables(GrowthTable *t, int n)
{
	GrowthTable **byrelid = palloc(sizeof(GrowthTable *) * n);

	for (int i = 0; i < n; i++)
	{
		List	   *l = SloParseQualifiedName(t[i].name);
		char		relkind;

		t[i].first = i;
		byrelid[i] = &t[i];
		t[i].relid = l == NIL ? InvalidOid :
			RangeVarGetRelid(makeRangeVarFromNameList(l), NoLock, true);
		if (!OidIsValid(t[i].relid))
			continue;
		relkind = get_rel_relkind(t[i].relid);
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
			relkind != RELKIND_MATVIEW && relkind != RELKIND_TOASTVALUE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table", t[i].name),
					 errdetail("Check kind \"%s\" watches tables, partitioned tables and materialized views.",
							   KIND_NAME)));
	}
	qsort(byrelid, n, sizeof(GrowthTable *), CompareByRelid);
	for (int i = 1; i < n; i++)
		if (OidIsValid(byrelid[i]->relid) && byrelid[i]->relid == byrelid[i - 1]->relid)
			byrelid[i]->first = byrelid[i - 1]->first;
	pfree(byrelid);
}

/* Build a 1-D array datum. */
static Datum
MakeArray(Datum *values, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_array(values, n, elemtype, typlen, typbyval, typalign));
}

/* pg_total_relation_size(relid), or -1 when the relation is gone. */
static int64
TotalRelationSize(Oid relid)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		d;

	/* called directly: it returns NULL (not an error) for a vanished relation */
	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(relid);
	fcinfo->args[0].isnull = false;
	d = pg_total_relation_size(fcinfo);
	return fcinfo->isnull ? -1 : DatumGetInt64(d);
}

/* pg_class.reltuples, or the live tuples of the statistics if never analyzed. */
static double
RowEstimate(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	float4		reltuples;

	if (!HeapTupleIsValid(tup))
		return 0;
	reltuples = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
	ReleaseSysCache(tup);
	if (reltuples >= 0)
		return reltuples;
	return (double) DatumGetInt64(DirectFunctionCall1(pg_stat_get_live_tuples,
													  ObjectIdGetDatum(relid)));
}

/*
 * Size and row estimate of every present table, from the caches and the
 * files (no SPI: a query joining pg_class cost a scan of it per check).  A
 * partitioned table is the sum of its leaves.  Each pg_total_relation_size
 * call takes and releases its own lock, so a check of 10,000 tables holds
 * none of them.
 */
static void
MeasureTables(GrowthTable *t, int n)
{
	for (int i = 0; i < n; i++)
	{
		GrowthTable *g = &t[i];

		CHECK_FOR_INTERRUPTS();
		if (!OidIsValid(g->relid) || g->first != i)
			continue;
		if (get_rel_relkind(g->relid) == RELKIND_PARTITIONED_TABLE)
		{
			List	   *parts = find_all_inheritors(g->relid, NoLock, NULL);
			ListCell   *lc;

			g->bytes = 0;
			g->rows = 0;
			foreach(lc, parts)
			{
				Oid			part = lfirst_oid(lc);
				int64		size;

				if (get_rel_relkind(part) == RELKIND_PARTITIONED_TABLE)
					continue;
				size = TotalRelationSize(part);
				if (size < 0)
					continue;	/* detached and dropped meanwhile */
				g->bytes += size;
				g->rows += RowEstimate(part);
			}
		}
		else
		{
			g->bytes = TotalRelationSize(g->relid);
			g->rows = RowEstimate(g->relid);
			if (g->bytes < 0)
			{
				/* dropped since we resolved it: missing */
				g->relid = InvalidOid;
				g->bytes = 0;
				g->rows = 0;
			}
		}
	}
}

/*
 * Read the history and fit it (with the current measurement), store this
 * run's samples where the last one is old enough, and trim expired ones; as
 * the extension owner.
 */
static void
FitStoreTrim(const SloCheck *check, GrowthTable *t, int n, TimestampTz now)
{
	SloBookkeeping bk;
	const char *nsp = check->ext->nspname;
	int64		spacing = Max(check->every_us, MIN_SPACING_US);
	double		rate_days = 1.0 + (double) spacing / USECS_PER_DAY;
	Datum	   *oids = palloc(sizeof(Datum) * n);
	Datum	   *bytes = palloc(sizeof(Datum) * n);
	Datum	   *rows = palloc(sizeof(Datum) * n);
	Datum	   *daily = palloc(sizeof(Datum) * n);
	int		   *index = palloc(sizeof(int) * n);
	int			k = 0,
				nstore = 0;
	char	   *sql;

	for (int i = 0; i < n; i++)
		if (OidIsValid(t[i].relid) && t[i].first == i)
		{
			index[k] = i;
			oids[k] = ObjectIdGetDatum(t[i].relid);
			bytes[k] = Int64GetDatum(t[i].bytes);
			rows[k] = Float8GetDatum(t[i].rows);
			k++;
		}
	if (k == 0)
		return;

	SloEnterBookkeeping(check->ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* x = days relative to now, so slopes are per day and the current point is x = 0 */
	{
		Oid			types[6] = {INT8OID, OIDARRAYOID, INT8ARRAYOID, FLOAT8ARRAYOID,
		TIMESTAMPTZOID, FLOAT8OID};
		Datum		args[6];

		args[0] = Int64GetDatum(check->id);
		args[1] = MakeArray(oids, k, OIDOID);
		args[2] = MakeArray(bytes, k, INT8OID);
		args[3] = MakeArray(rows, k, FLOAT8OID);
		args[4] = TimestampTzGetDatum(now);
		args[5] = Float8GetDatum(-rate_days);
		sql = psprintf("WITH cur AS ("
					   "  SELECT * FROM unnest($2, $3, $4) WITH ORDINALITY AS c(relid, bytes, nrows, i)"
					   "), pts AS ("
					   "  SELECT cur.i, date_part('epoch', s.at - $5) / 86400 AS x,"
					   "         s.bytes::float8 AS b, s.row_estimate::float8 AS r, s.at"
					   "    FROM %s.slo_table_size s JOIN cur ON cur.relid = s.relid"
					   "   WHERE s.check_id = $1 AND s.at >= $5 - interval '%d days'"
					   "  UNION ALL"
					   "  SELECT i, 0, bytes, nrows, NULL FROM cur"
					   ") "
					   "SELECT i::int4, count(*)::int4, min(x), regr_slope(b, x), regr_slope(r, x),"
					   "       count(*) FILTER (WHERE x >= $6)::int4, min(x) FILTER (WHERE x >= $6),"
					   "       regr_slope(b, x) FILTER (WHERE x >= $6), max(at)"
					   "  FROM pts GROUP BY i",
					   nsp, FIT_WINDOW_DAYS);
		if (SPI_execute_with_args(sql, 6, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the history of a table_growth check");
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					n1,
					n2;
		int			i = index[DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)) - 1];
		GrowthTable *g = &t[i];
		double		span,
					span_day;
		Datum		d;

		g->npoints = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		span = -DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &n1);
		g->bytes_per_day = n1 ? 0 : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 5, &n2);
		g->rows_per_day = n2 ? 0 : DatumGetFloat8(d);
		g->has_fit = !n1 && !n2 && g->npoints >= 3 && span >= MIN_SPAN_DAYS;

		d = SPI_getbinval(tup, desc, 7, &isnull);
		span_day = isnull ? 0 : -DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 8, &n1);
		g->growth_last_day = n1 ? 0 : DatumGetFloat8(d);
		g->has_rate = !n1 && DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull)) >= 2 &&
			span_day >= MIN_SPAN_DAYS;

		d = SPI_getbinval(tup, desc, 9, &isnull);
		g->last_at = isnull ? 0 : DatumGetTimestampTz(d);
	}

	/* store: at most one sample per table per spacing (10 % slack for jitter) */
	for (int j = 0; j < k; j++)
	{
		GrowthTable *g = &t[index[j]];

		if (g->last_at != 0 && now - g->last_at < spacing - spacing / 10)
			continue;
		oids[nstore] = ObjectIdGetDatum(g->relid);
		bytes[nstore] = Int64GetDatum(g->bytes);
		/* issue 15 (UBSan): reltuples may be NaN or Infinity (a hand-written catalog row) */
		rows[nstore] = Int64GetDatum(!isfinite(g->rows) || g->rows < 0 ? 0 :
									 g->rows >= 9.2e18 ? PG_INT64_MAX : (int64) rint(g->rows));
		/* the first sample of its UTC day is kept longer */
		daily[nstore] = BoolGetDatum(g->last_at == 0 ||
									 g->last_at / USECS_PER_DAY < now / USECS_PER_DAY);
		nstore++;
	}
	if (nstore > 0)
	{
		Oid			types[6] = {INT8OID, TIMESTAMPTZOID, OIDARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, BOOLARRAYOID};
		Datum		args[6];
		int64		batch = 2 * (int64) k + 100;

		args[0] = Int64GetDatum(check->id);
		args[1] = TimestampTzGetDatum(now);
		args[2] = MakeArray(oids, nstore, OIDOID);
		args[3] = MakeArray(bytes, nstore, INT8OID);
		args[4] = MakeArray(rows, nstore, INT8OID);
		args[5] = MakeArray(daily, nstore, BOOLOID);
		sql = psprintf("INSERT INTO %s.slo_table_size (check_id, relid, at, bytes, row_estimate, daily) "
					   "SELECT $1, u.relid, $2, u.bytes, u.nrows, u.daily "
					   "  FROM unnest($3, $4, $5, $6) AS u(relid, bytes, nrows, daily)", nsp);
		if (SPI_execute_with_args(sql, 6, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the samples of a table_growth check");

		/*
		 * Trim in batches through the (check_id, at) index: everything past
		 * DAILY_KEEP_DAYS, and the non-daily samples of the day that just
		 * left the fit window (each run stores at most k rows and deletes up
		 * to 2k + 100 of each kind, so the history stays bounded).
		 */
		sql = psprintf("DELETE FROM %s.slo_table_size WHERE ctid = ANY (ARRAY("
					   "  SELECT ctid FROM %s.slo_table_size"
					   "   WHERE check_id = $1 AND at < $2 - interval '%d days' LIMIT " INT64_FORMAT "))",
					   nsp, nsp, DAILY_KEEP_DAYS, batch);
		if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not trim the samples of a table_growth check");
		sql = psprintf("DELETE FROM %s.slo_table_size WHERE ctid = ANY (ARRAY("
					   "  SELECT ctid FROM %s.slo_table_size"
					   "   WHERE check_id = $1 AND at < $2 - interval '%d days'"
					   "     AND at >= $2 - interval '%d days' AND NOT daily LIMIT " INT64_FORMAT "))",
					   nsp, nsp, FIT_WINDOW_DAYS, FIT_WINDOW_DAYS + 1, batch);
		if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not trim the samples of a table_growth check");
	}

	SPI_finish();
	SloLeaveBookkeeping(&bk);
}

/* Status, reason and forecast of one present table. */
static void
JudgeTable(GrowthTable *g, const GrowthLimits *lim)
{
	g->status = SLO_OK;
	g->reason = GR_OK;
	g->score = 0;

	if (g->has_fit && lim->has_bytes && g->bytes_per_day > 0)
	{
		g->days_bytes = Max(lim->max_bytes - (double) g->bytes, 0) / g->bytes_per_day;
		g->has_days_bytes = g->days_bytes <= MAX_FORECAST_DAYS;
	}
	if (g->has_fit && lim->has_rows && g->rows_per_day > 0)
	{
		g->days_rows = Max(lim->max_rows - g->rows, 0) / g->rows_per_day;
		g->has_days_rows = g->days_rows <= MAX_FORECAST_DAYS;
	}

	if (lim->has_bytes && (double) g->bytes > lim->max_bytes)
	{
		g->status = SLO_FAIL;
		g->reason = GR_BYTES;
	}
	else if (lim->has_rows && g->rows > lim->max_rows)
	{
		g->status = SLO_FAIL;
		g->reason = GR_ROWS;
	}
	else if (lim->has_growth && g->has_rate && g->growth_last_day > lim->max_growth)
	{
		g->status = SLO_FAIL;
		g->reason = GR_GROWTH;
	}
	else if (g->has_days_bytes && g->days_bytes <= lim->warn_days &&
			 (!g->has_days_rows || g->days_bytes <= g->days_rows))
	{
		g->status = SLO_WARN;
		g->reason = GR_FORECAST_BYTES;
	}
	else if (g->has_days_rows && g->days_rows <= lim->warn_days)
	{
		g->status = SLO_WARN;
		g->reason = GR_FORECAST_ROWS;
	}

	/*
	 * Order within a status: how far over the limit for a failure; fewer days
	 * to a limit first for a forecast (scores in (1, 2]); then the largest
	 * table (scores below 1).
	 */
	if (g->reason == GR_BYTES)
		g->score = (double) g->bytes / Max(lim->max_bytes, 1);
	else if (g->reason == GR_ROWS)
		g->score = g->rows / Max(lim->max_rows, 1);
	else if (g->reason == GR_GROWTH)
		g->score = g->growth_last_day / Max(lim->max_growth, 1);
	else if (g->has_days_bytes || g->has_days_rows)
		g->score = 1.0 + 1.0 / (1.0 + Min(g->has_days_bytes ? g->days_bytes : DBL_MAX,
										  g->has_days_rows ? g->days_rows : DBL_MAX));
	else
		g->score = (double) g->bytes / 1e19;
}

/* qsort: worst first (status, then score), then by position in params. */
static int
CompareTables(const void *a, const void *b)
{
	const GrowthTable *x = *(const GrowthTable *const *) a;
	const GrowthTable *y = *(const GrowthTable *const *) b;

	if (x->status != y->status)
		return x->status > y->status ? -1 : 1;
	if (x->reason == GR_MISSING || y->reason == GR_MISSING)
	{
		if (x->reason != y->reason)
			return x->reason == GR_MISSING ? -1 : 1;
	}
	else if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/* ", growing 30 MB/day" / " and is not growing" / "" when there is no fit */
static const char *
GrowthPhrase(const GrowthTable *g)
{
	if (!g->has_fit)
		return "";
	if (g->bytes_per_day > 0)
		return psprintf(" and grows %s/day", Bytes(g->bytes_per_day));
	return " and is not growing";
}

/* The nearer forecast, "max_bytes 50 GB in 412 days, on 2027-01-02"; NULL if none. */
static char *
ForecastPhrase(const GrowthTable *g, const GrowthLimits *lim, TimestampTz now)
{
	if (g->has_days_bytes && (!g->has_days_rows || g->days_bytes <= g->days_rows))
		return psprintf("max_bytes %s in %s days, on %s", Bytes(lim->max_bytes),
						Days(g->days_bytes), DateAfter(now, g->days_bytes));
	if (g->has_days_rows)
		return psprintf("max_rows %s in %s days, on %s", Rows(lim->max_rows),
						Days(g->days_rows), DateAfter(now, g->days_rows));
	return NULL;
}

/* " (also 2 more tables over a limit and 1 near one)", or "" */
static char *
OthersPhrase(int nfail, int nwarn, bool more)
{
	const char *m = more ? "more " : "";

	if (nfail > 0 && nwarn > 0)
		return psprintf(" (also %d %stable%s over a limit and %d near one)",
						nfail, m, nfail == 1 ? "" : "s", nwarn);
	if (nfail > 0)
		return psprintf(" (also %d %stable%s over a limit)", nfail, m, nfail == 1 ? "" : "s");
	if (nwarn > 0)
		return psprintf(" (also %d %stable%s near a limit)", nwarn, m, nwarn == 1 ? "" : "s");
	return "";
}

/* The clause about the worst table, without the final period. */
static char *
MainClause(const GrowthTable *g, const GrowthLimits *lim, TimestampTz now, int n)
{
	char	   *fc;

	switch (g->reason)
	{
		case GR_MISSING:
			return psprintf("Table %s does not exist", g->name);
		case GR_BYTES:
			return psprintf("%s is %s, over max_bytes %s", g->name, Bytes((double) g->bytes),
							Bytes(lim->max_bytes));
		case GR_ROWS:
			return psprintf("%s has about %s rows, over max_rows %s", g->name, Rows(g->rows),
							Rows(lim->max_rows));
		case GR_GROWTH:
			return psprintf("%s grows %s/day over the last day, over max_growth_per_day %s/day",
							g->name, Bytes(g->growth_last_day), Bytes(lim->max_growth));
		case GR_FORECAST_BYTES:
			return psprintf("%s grows %s/day and will reach max_bytes %s in %s days (%s)",
							g->name, Bytes(g->bytes_per_day), Bytes(lim->max_bytes),
							Days(g->days_bytes), DateAfter(now, g->days_bytes));
		case GR_FORECAST_ROWS:
			return psprintf("%s grows %s rows/day and will reach max_rows %s in %s days (%s)",
							g->name, Rows(g->rows_per_day), Rows(lim->max_rows),
							Days(g->days_rows), DateAfter(now, g->days_rows));
		case GR_OK:
			break;
	}
	fc = ForecastPhrase(g, lim, now);
	return psprintf("%s%s is %s%s%s%s",
					n > 1 ? psprintf("All %d tables are within limits; ", n) : "",
					g->name, Bytes((double) g->bytes), GrowthPhrase(g),
					n > 1 ? "" : ", within limits",
					fc ? psprintf(" (%s)", fc) :
					g->has_fit ? "" : " (not enough history yet to forecast)");
}

/* Append a JSON number, or null. */
static void
JsonNum(StringInfo buf, const char *key, bool has, double v)
{
	if (has && isfinite(v))
		appendStringInfo(buf, ", \"%s\": %.3f", key, v);
	else
		appendStringInfo(buf, ", \"%s\": null", key);
}

static char *
BuildDetail(GrowthTable **sorted, int n)
{
	StringInfoData buf;
	int			shown = Min(n, DETAIL_MAX_TABLES);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"fit_window_days\": %d, \"tables_total\": %d, \"tables\": [",
					 FIT_WINDOW_DAYS, n);
	for (int i = 0; i < shown; i++)
	{
		const GrowthTable *g = sorted[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"table\": ");
		escape_json(&buf, g->name);
		appendStringInfo(&buf, ", \"status\": \"%s\"", SloStatusName(g->status));
		if (g->reason == GR_MISSING)
		{
			appendStringInfoString(&buf, ", \"missing\": true}");
			continue;
		}
		appendStringInfo(&buf, ", \"bytes\": " INT64_FORMAT ", \"rows\": %.0f, \"samples\": %d",
						 g->bytes, g->rows, g->npoints);
		JsonNum(&buf, "bytes_per_day", g->has_fit, g->bytes_per_day);
		JsonNum(&buf, "rows_per_day", g->has_fit, g->rows_per_day);
		JsonNum(&buf, "growth_last_day", g->has_rate, g->growth_last_day);
		JsonNum(&buf, "days_to_max_bytes", g->has_days_bytes, g->days_bytes);
		JsonNum(&buf, "days_to_max_rows", g->has_days_rows, g->days_rows);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');
	if (shown < n)
		appendStringInfo(&buf, ", \"tables_omitted\": %d", n - shown);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static void
growth_run(const SloCheck *check, SloOutcome *out)
{
	int			n;
	char	  **names;
	GrowthTable *t;
	GrowthTable **sorted;
	GrowthLimits lim;
	TimestampTz now = GetCurrentTimestamp();
	int			nfail = 0,
				nwarn = 0;
	GrowthTable *w;
	char	   *clause;
	char	   *more;

	SloRunParams(check);
	names = SloRunNames(check, "tables", &n);
	t = palloc0(sizeof(GrowthTable) * n);
	sorted = palloc(sizeof(GrowthTable *) * n);
	memset(&lim, 0, sizeof(lim));
	lim.has_bytes = SloParamNumber(check->params, "max_bytes", &lim.max_bytes);
	lim.has_rows = SloParamNumber(check->params, "max_rows", &lim.max_rows);
	lim.has_growth = SloParamNumber(check->params, "max_growth_per_day", &lim.max_growth);
	if (!SloParamNumber(check->params, "warn_days_to_limit", &lim.warn_days))
		lim.warn_days = DEFAULT_WARN_DAYS;

	for (int i = 0; i < n; i++)
		t[i].name = names[i];
	ResolveTables(t, n);
	MeasureTables(t, n);
	FitStoreTrim(check, t, n, now);

	for (int i = 0; i < n; i++)
	{
		GrowthTable *g = &t[i];

		if (g->first != i)
		{
			/* the same table under another name: same figures */
			const char *name = g->name;

			*g = t[g->first];
			g->name = name;
			g->first = i;
		}
		else if (!OidIsValid(g->relid))
		{
			g->status = SLO_FAIL;
			g->reason = GR_MISSING;
		}
		else
			JudgeTable(g, &lim);
		sorted[i] = g;
		if (g->status == SLO_FAIL)
			nfail++;
		else if (g->status == SLO_WARN)
			nwarn++;
	}
	qsort(sorted, n, sizeof(GrowthTable *), CompareTables);
	w = sorted[0];

	if (w->reason == GR_MISSING)
	{
		int			nmissing = 0;

		for (int i = 0; i < n; i++)
			nmissing += sorted[i]->reason == GR_MISSING;
		if (nmissing > 1)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			for (int i = 0; i < nmissing; i++)
				appendStringInfo(&buf, "%s%s", i ? ", " : "", sorted[i]->name);
			clause = psprintf("Tables %s do not exist", buf.data);
		}
		else
			clause = MainClause(w, &lim, now, n);
		more = OthersPhrase(nfail - nmissing, nwarn, false);
	}
	else
	{
		clause = MainClause(w, &lim, now, n);
		if (w->status == SLO_FAIL)
			more = OthersPhrase(nfail - 1, nwarn, true);
		else
			more = OthersPhrase(0, nwarn - (w->status == SLO_WARN), true);
	}

	SloOutcomeSet(out, w->status, w->reason != GR_MISSING, (double) w->bytes,
				  "%s%s.", clause, more);
	SloOutcomeDetail(out, BuildDetail(sorted, n));
}

const SloKind SloKindTableGrowth = {
	.name = KIND_NAME,
	.description = "size and row estimate of tables with their own history; fails over max_bytes, max_rows or max_growth_per_day, warns when the least-squares forecast reaches max_bytes/max_rows within warn_days_to_limit (7); value = bytes of the worst table",
	.params = params,
	.validate = growth_validate,
	.run = growth_run,
};
