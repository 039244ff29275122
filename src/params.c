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

#define SLO_MAX_SHOWN_VALUE 100

/* Text of a JsonbValue for messages, cut to a readable length. */
static char *
JsonbValueText(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);
	char	   *s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	if (strlen(s) > SLO_MAX_SHOWN_VALUE)
	{
		int			len = pg_mbcliplen(s, strlen(s), SLO_MAX_SHOWN_VALUE);

		s[len] = '\0';
		s = psprintf("%s...", s);
	}
	return s;
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
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\" of check kind \"%s\": %s",
					key, kind, value),
			 detail ? errdetail_internal("%s", detail) : 0,
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

/* Parse an interval string without throwing; false if it is not one. */
static bool
ParseIntervalMs(const char *str, int64 *ms)
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
		*ms = (iv->time +
			   (int64) iv->day * USECS_PER_DAY +
			   (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY) / 1000;
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
				int64		ms;
				char	   *s;

				if (v->type != jbvString)
					TypeError(kind, spec, p, v);
				s = pnstrdup(v->val.string.val, v->val.string.len);
				if (!ParseIntervalMs(s, &ms))
					TypeError(kind, spec, p, v);
				if (ms <= 0)
					SloParamErrorSpec(kind, spec, p->key, JsonbValueText(v),
								  "The interval must be positive.");
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
		char	   *txt = JsonbToCString(NULL, &params->root, VARSIZE(params));

		if (strlen(txt) > SLO_MAX_SHOWN_VALUE)
			txt = psprintf("%.*s...", pg_mbcliplen(txt, strlen(txt), SLO_MAX_SHOWN_VALUE), txt);
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
					 errmsg("unknown parameter \"%s\" for check kind \"%s\"", key, kind),
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
							   JsonbToCString(NULL, &params->root, VARSIZE(params))),
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
