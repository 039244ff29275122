/*-------------------------------------------------------------------------
 * params.c
 *	  Generic validation of a check's params against its kind's param table,
 *	  and the typed accessors runners use to read them.
 *
 *	  Every user mistake becomes SQLSTATE 22023 with a message that names the
 *	  key and the offending value, and a hint listing what the kind accepts.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "params.h"

/*
 * Text echoed in an error message: at most SLO_SHOWN_CHARS characters, then
 * "... (N more characters)", so a 10 MB name or params document never makes a
 * 10 MB message (nor a 10 MB log line).  Never cuts inside a character.
 */
static char *
ShownTextN(const char *s, int max)
{
	int			bytes;
	int			chars;
	int			cut;

	if (s == NULL)
		return "(null)";
	bytes = strlen(s);
	if (bytes <= max)
		return (char *) s;
	chars = pg_mbstrlen_with_len(s, bytes);
	if (chars <= max)
		return (char *) s;
	cut = pg_mbcharcliplen(s, bytes, max);
	return psprintf("%.*s... (%d more characters)", cut, s, chars - max);
}

char *
SloShownText(const char *s)
{
	return ShownTextN(s, SLO_SHOWN_CHARS);
}

/* Text of a JsonbValue for messages, cut to a readable length. */
static char *
JsonbValueText(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);

	return SloShownText(JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
}

static const char *
ParamTypeName(SloParamType type)
{
	switch (type)
	{
		case SLO_PARAM_STRING:
			return "a non-empty string";
		case SLO_PARAM_NAME_ARRAY:
			return "a non-empty array of names (strings)";
		case SLO_PARAM_NUMBER:
			return "a number";
		case SLO_PARAM_INTEGER:
			return "an integer";
		case SLO_PARAM_BOOL:
			return "true or false";
		case SLO_PARAM_INTERVAL:
			return "an interval string such as \"5 seconds\"";
		case SLO_PARAM_URL:
			return "an http:// or https:// URL";
		case SLO_PARAM_OBJECT:
			return "an object of string values";
		case SLO_PARAM_STRING_ARRAY:
			return "an array of strings";
		case SLO_PARAM_GUARD:
			return "true, false or \"block\"";
		case SLO_PARAM_SECRET_OBJECT:
			return "an object of string values (secret: never shown)";
	}
	return "a value";
}

/* "tables (required, a non-empty array of names), guard (true or false)" */
static char *
AcceptedParams(const SloParam *spec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const SloParam *p = spec; p->key != NULL; p++)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s (%s%s)", p->key,
						 p->required ? "required, " : "", ParamTypeName(p->type));
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "none");
	return buf.data;
}

void
SloParamErrorSpec(const char *kind, const SloParam *spec, const char *key,
				  const char *value, const char *detail)
{
	/*
	 * A safety net for values and details that kinds build themselves (most
	 * cut their values to SLO_SHOWN_CHARS already; a parser's message can
	 * quote the rest of a query): nothing echoed grows without bound.
	 */
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\" of check kind \"%s\": %s",
					key, kind, ShownTextN(value, 4 * SLO_SHOWN_CHARS)),
			 detail ? errdetail_internal("%s", ShownTextN(detail, 8 * SLO_SHOWN_CHARS)) : 0,
			 spec ? errhint("Check kind \"%s\" accepts: %s.", kind, AcceptedParams(spec)) : 0));
}

static void
TypeError(const char *kind, const SloParam *spec, const SloParam *p, JsonbValue *v)
{
	SloParamErrorSpec(kind, spec, p->key,
					  p->type == SLO_PARAM_SECRET_OBJECT ? "(not shown)" : JsonbValueText(v),
				  psprintf("The value must be %s.", ParamTypeName(p->type)));
}

static double
NumericToDouble(Numeric n)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(n)));
}

/* Is v a JSON array (not a raw scalar) whose elements pass the given test? */
static bool
IsStringArray(JsonbValue *v, bool nonempty)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		return false;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvString)
			return false;
		if (nonempty && elem.val.string.len == 0)
			return false;
		n++;
	}
	return !nonempty || n > 0;
}

static bool
IsStringObject(JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return false;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok == WJB_VALUE && elem.type != jbvString)
			return false;
	}
	return true;
}

/*
 * An interval's length in milliseconds as a double, the way PostgreSQL
 * compares intervals (a month is 30 days, a day 24 hours).  Summed in double,
 * so "116834123 years 8 months" is a huge number, not an int64 overflow that
 * wraps around to "2 hours".
 */
double
SloIntervalMsDouble(const Interval *iv)
{
	return (double) iv->time / 1000.0 +
		(double) iv->day * (double) SLO_MSECS_PER_DAY +
		(double) iv->month * (double) DAYS_PER_MONTH * (double) SLO_MSECS_PER_DAY;
}

/*
 * A bound in milliseconds as words: "1 year", "30 days", "1 second",
 * "1 millisecond".  A year is 12 months of 30 days, as interval comparison has it.
 */
char *
SloIntervalBoundText(double ms)
{
	static const struct
	{
		double		ms;
		const char *unit;
	}			units[] = {
		{SLO_INTERVAL_YEAR_MS, "year"},
		{(double) SLO_MSECS_PER_DAY, "day"},
		{3600.0 * 1000, "hour"},
		{60.0 * 1000, "minute"},
		{1000.0, "second"},
		{1.0, "millisecond"},
	};

	for (int i = 0; i < (int) lengthof(units); i++)
	{
		double		n = ms / units[i].ms;

		if (n >= 1 && n == floor(n))
			return psprintf("%.0f %s%s", n, units[i].unit, n == 1 ? "" : "s");
	}
	return psprintf("%g milliseconds", ms);
}

/* Parse an interval string without throwing; false if it is not one. */
static bool
ParseIntervalMsDouble(const char *str, double *ms)
{
	Interval   *iv;
	volatile bool ok = true;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
												   CStringGetDatum(str),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
		*ms = SloIntervalMsDouble(iv);
	}
	PG_CATCH();
	{
		/* interval_in only throws data errors; we replace them with ours. */
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* The same in int64 milliseconds, saturated (validated params are in range). */
static bool
ParseIntervalMs(const char *str, int64 *ms)
{
	double		d;

	if (!ParseIntervalMsDouble(str, &d))
		return false;
	if (d >= (double) PG_INT64_MAX / 2)
		*ms = PG_INT64_MAX / 2;
	else if (d <= (double) PG_INT64_MIN / 2)
		*ms = PG_INT64_MIN / 2;
	else
		*ms = (int64) d;
	return true;
}

static bool
IsHttpUrl(const char *s)
{
	const char *host;

	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return false;
	if (*host == '\0' || *host == '/' || *host == ':')
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char) *c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static void
CheckRange(const char *kind, const SloParam *spec, const SloParam *p, JsonbValue *v, double d)
{
	if (p->min > p->max)
		return;
	if (d < p->min || d > p->max)
	{
		char	   *detail;

		if (p->max >= DBL_MAX)
			detail = psprintf("The value must be at least %g.", p->min);
		else
			detail = psprintf("The value must be between %g and %g.", p->min, p->max);
		SloParamErrorSpec(kind, spec, p->key, JsonbValueText(v), detail);
	}
}

static void
ValidateOne(const char *kind, const SloParam *spec, const SloParam *p, JsonbValue *v)
{
	switch (p->type)
	{
		case SLO_PARAM_STRING:
			if (v->type != jbvString || v->val.string.len == 0)
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_NAME_ARRAY:
			if (!IsStringArray(v, true))
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_STRING_ARRAY:
			if (!IsStringArray(v, false))
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_NUMBER:
		case SLO_PARAM_INTEGER:
			{
				double		d;

				if (v->type != jbvNumeric)
					TypeError(kind, spec, p, v);
				d = NumericToDouble(v->val.numeric);
				if (p->type == SLO_PARAM_INTEGER && (d != floor(d) || fabs(d) > 1e15))
					TypeError(kind, spec, p, v);
				CheckRange(kind, spec, p, v, d);
				break;
			}
		case SLO_PARAM_BOOL:
			if (v->type != jbvBool)
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_INTERVAL:
			{
				double		ms;
				double		lo = p->min <= p->max ? p->min : SLO_INTERVAL_MIN_MS;
				double		hi = p->min <= p->max ? p->max : SLO_INTERVAL_MAX_MS;
				char	   *s;

				if (v->type != jbvString)
					TypeError(kind, spec, p, v);
				s = pnstrdup(v->val.string.val, v->val.string.len);
				if (!ParseIntervalMsDouble(s, &ms))
					TypeError(kind, spec, p, v);
				if (ms < lo)
					SloParamErrorSpec(kind, spec, p->key, JsonbValueText(v),
									  psprintf("The interval must be at least %s.",
											   SloIntervalBoundText(lo)));
				if (ms > hi)
					SloParamErrorSpec(kind, spec, p->key, JsonbValueText(v),
									  psprintf("The interval must be at most %s%s.",
											   SloIntervalBoundText(hi),
											   hi == SLO_INTERVAL_YEAR_MS ?
											   " (360 days: PostgreSQL counts a month as 30 days)" : ""));
				break;
			}
		case SLO_PARAM_URL:
			if (v->type != jbvString ||
				!IsHttpUrl(pnstrdup(v->val.string.val, v->val.string.len)))
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_OBJECT:
		case SLO_PARAM_SECRET_OBJECT:
			if (!IsStringObject(v))
				TypeError(kind, spec, p, v);
			break;
		case SLO_PARAM_GUARD:
			if (v->type != jbvBool &&
				!(v->type == jbvString && v->val.string.len == 5 &&
				  memcmp(v->val.string.val, "block", 5) == 0))
				TypeError(kind, spec, p, v);
			break;
	}
}

void
SloValidateParams(const char *kind, const SloParam *spec, Jsonb *params)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			nspec = 0;
	bool	   *seen;

	for (const SloParam *p = spec; p->key != NULL; p++)
		nspec++;
	seen = palloc0(sizeof(bool) * (nspec + 1));

	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
	{
		char	   *txt = SloShownText(JsonbToCString(NULL, &params->root, VARSIZE(params)));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params of check kind \"%s\" must be a JSON object, not %s", kind, txt),
				 errhint("Check kind \"%s\" accepts: %s.", kind, AcceptedParams(spec))));
	}

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			i = 0;
		const SloParam *p;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (p = spec; p->key != NULL; p++, i++)
			if (strcmp(p->key, key) == 0)
				break;
		if (p->key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for check kind \"%s\"",
							SloShownText(key), kind),
					 errhint("Check kind \"%s\" accepts: %s.", kind, AcceptedParams(spec))));
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (v.type == jbvNull)
			SloParamErrorSpec(kind, spec, key, "null",
						  psprintf("The value must be %s; leave the key out for the default.",
								   ParamTypeName(p->type)));
		ValidateOne(kind, spec, p, &v);
		seen[i] = true;
	}

	for (int i = 0; i < nspec; i++)
		if (spec[i].required && !seen[i])
		{
			bool		secret = false;

			/* a kind with secret params: the params given are not shown */
			for (int j = 0; j < nspec; j++)
				if (spec[j].type == SLO_PARAM_SECRET_OBJECT)
					secret = true;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("check kind \"%s\" requires parameter \"%s\"", kind, spec[i].key),
					 secret ? 0 : errdetail("The params given were %s.",
										   SloShownText(JsonbToCString(NULL, &params->root, VARSIZE(params)))),
					 errhint("Check kind \"%s\" accepts: %s.", kind, AcceptedParams(spec))));
		}
	pfree(seen);
}

static JsonbValue *
GetKey(Jsonb *params, const char *key, JsonbValue *buf)
{
	if (params == NULL || !JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		return NULL;
	return getKeyJsonValueFromContainer(&params->root, key, strlen(key), buf);
}

const char *
SloParamString(Jsonb *params, const char *key, const char *dflt)
{
	JsonbValue	buf;
	JsonbValue *v = GetKey(params, key, &buf);

	if (v == NULL || v->type != jbvString)
		return dflt;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

bool
SloParamNumber(Jsonb *params, const char *key, double *value)
{
	JsonbValue	buf;
	JsonbValue *v = GetKey(params, key, &buf);

	if (v == NULL || v->type != jbvNumeric)
		return false;
	*value = NumericToDouble(v->val.numeric);
	return true;
}

bool
SloParamBool(Jsonb *params, const char *key, bool dflt)
{
	JsonbValue	buf;
	JsonbValue *v = GetKey(params, key, &buf);

	if (v == NULL || v->type != jbvBool)
		return dflt;
	return v->val.boolean;
}

bool
SloParamIntervalMs(Jsonb *params, const char *key, int64 *ms)
{
	const char *s = SloParamString(params, key, NULL);

	return s != NULL && ParseIntervalMs(s, ms);
}

char **
SloParamStringArray(Jsonb *params, const char *key, int *n)
{
	JsonbValue	buf;
	JsonbValue *v = GetKey(params, key, &buf);
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	char	  **out;
	int			cap;

	*n = 0;
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return NULL;
	cap = JsonContainerSize(v->val.binary.data);
	out = palloc(sizeof(char *) * (cap + 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM && elem.type == jbvString && *n < cap)
			out[(*n)++] = pnstrdup(elem.val.string.val, elem.val.string.len);
	}
	return out;
}

char *
SloParamText(Jsonb *params, const char *key)
{
	JsonbValue	buf;
	JsonbValue *v = GetKey(params, key, &buf);

	return v ? JsonbValueText(v) : NULL;
}
