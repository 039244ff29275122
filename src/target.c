/*-------------------------------------------------------------------------
 * target.c
 *	  slo_add_target, slo_alter_target, slo_drop_target, slo_test_target.
 *
 *	  A target is where alert events are delivered.  Every argument is
 *	  validated before anything is written (22023, naming the key and, unless
 *	  it is a secret, the value).  The url must be allowed by
 *	  slo_guard.allowed_hosts.  Secrets (header values, routing_key, SMTP
 *	  user and password) and the full url (a Slack or webhook url often
 *	  carries a token) go to slo_target_secret, which row level security shows
 *	  only to the target's owner and its members (and superusers); slo_target
 *	  keeps the url's origin and the other params.  Ownership follows the
 *	  rule of checks (SloCheckOwnership).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "delivery.h"
#include "extension.h"
#include "net.h"
#include "slo_guard.h"

#define SLO_TARGET_NAME_MAX 200
#define SLO_SHOW_MAX 80

/* Params every target kind takes. */
static const char *const common_keys[] = {
	"repeat_every", "digest", "digest_every", "rate_per_minute", "timeout_ms", NULL
};

/* Params that are secrets: kept in slo_target_secret, never shown. */
static const char *const secret_keys[] = {"headers", "routing_key", "user", "password", NULL};

typedef struct SloTargetKind
{
	const char *name;
	const char *schemes;
	const char *const *keys;	/* kind's own params */
	const char *required;		/* comma-separated */
	bool		digest_ok;
	const char *hint;
} SloTargetKind;

static const char *const webhook_keys[] = {"headers", NULL};
static const char *const slack_keys[] = {NULL};
static const char *const pagerduty_keys[] = {"routing_key", NULL};
static const char *const alertmanager_keys[] = {"headers", NULL};
static const char *const email_keys[] = {"from", "to", "user", "password", NULL};

static const SloTargetKind target_kinds[] = {
	{"webhook", "http,https", webhook_keys, "", true,
	"webhook takes headers (an object of header names and values, kept secret)"},
	{"slack", "http,https", slack_keys, "", true,
	"slack takes no params of its own (the incoming-webhook url is kept secret)"},
	{"pagerduty", "http,https", pagerduty_keys, "routing_key", false,
	"pagerduty takes routing_key (required, kept secret)"},
	{"alertmanager", "http,https", alertmanager_keys, "", false,
	"alertmanager takes headers (kept secret); the url is Alertmanager's base url"},
	{"email", "smtp,smtps", email_keys, "from,to", true,
	"email takes from and to (required: an address and an array of addresses), user and password (kept secret)"},
};

#define COMMON_HINT "Every kind also takes repeat_every (an interval), digest ('daily'), digest_every (an interval), rate_per_minute and timeout_ms."

static const SloTargetKind *
GetTargetKind(const char *name)
{
	for (int i = 0; i < (int) lengthof(target_kinds); i++)
		if (strcmp(target_kinds[i].name, name) == 0)
			return &target_kinds[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown target kind \"%s\"", SloClipText(name, SLO_SHOW_MAX)),
			 errhint("Target kinds are webhook, slack, pagerduty, alertmanager and email.")));
	return NULL;
}

static bool
InList(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static void
ValidateTargetName(const char *name)
{
	if (name[0] == '\0' || strlen(name) > SLO_TARGET_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid target name \"%s\"", SloClipText(name, SLO_SHOW_MAX)),
				 errdetail("A target name must be 1 to %d bytes long.", SLO_TARGET_NAME_MAX)));
	for (const char *c = name; *c; c++)
		if ((unsigned char) *c < ' ' || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target name \"%s\"", SloClipText(name, SLO_SHOW_MAX)),
					 errdetail("A target name must not contain control characters.")));
}

static char *
ValidateMinSeverity(const char *sev)
{
	if (strlen(sev) == 2 && (sev[0] == 'P' || sev[0] == 'p') && sev[1] >= '0' && sev[1] <= '3')
		return psprintf("P%c", sev[1]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid min_severity \"%s\"", SloClipText(sev, SLO_SHOW_MAX)),
			 errhint("min_severity is one of P0, P1, P2, P3: a target gets alerts of that severity and more urgent ones (P3, the default, gets all).")));
	return NULL;
}

static void
ValidateUrl(const SloTargetKind *tk, const char *url)
{
	char	   *why = NULL;

	if (!SloUrlAllowed(url, tk->schemes, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("url refused for target kind \"%s\": %s", tk->name,
						why ? why : "not allowed"),
				 errhint("A %s target takes a %s url whose host is listed in slo_guard.allowed_hosts (names or CIDR ranges, set by a superuser).",
						 tk->name, strcmp(tk->schemes, "smtp,smtps") == 0 ? "smtp:// or smtps://" : "http:// or https://")));
}

/* The value of a param for an error message: never a secret, cut short. */
static char *
ShowValue(const char *key, JsonbValue *v)
{
	if (InList(secret_keys, key))
		return "(secret, not shown)";
	if (v->type == jbvString)
		return SloClipText(pnstrdup(v->val.string.val, v->val.string.len), SLO_SHOW_MAX);
	if (v->type == jbvBinary)
		return SloClipText(JsonbToCString(NULL, v->val.binary.data, v->val.binary.len), SLO_SHOW_MAX);
	if (v->type == jbvNumeric)
		return SloClipText(DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))), SLO_SHOW_MAX);
	if (v->type == jbvBool)
		return v->val.boolean ? "true" : "false";
	return "null";
}

static void
BadParam(const SloTargetKind *tk, const char *key, JsonbValue *v, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for target param \"%s\": %s", key, ShowValue(key, v)),
			 errdetail("%s", what),
			 errhint("%s. " COMMON_HINT, tk->hint)));
}

static bool
HasCrLf(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return true;
	return false;
}

static char *
JString(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An interval param given as text: at least 1 second, at most a year. */
static void
ValidateIntervalParam(const SloTargetKind *tk, const char *key, JsonbValue *v)
{
	Interval   *volatile iv = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	int64		us;

	if (v->type != jbvString)
		BadParam(tk, key, v, "It must be an interval as text, such as '30 minutes'.");
	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(JString(v)),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		iv = NULL;
	}
	PG_END_TRY();
	if (iv == NULL)
		BadParam(tk, key, v, "It must be an interval as text, such as '30 minutes'.");
	us = (iv->month >= 0 && iv->month <= 12 && iv->day >= 0 && iv->day <= 366) ?
		iv->time + (int64) iv->day * USECS_PER_DAY + (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY : -1;
	if (us < USECS_PER_SEC || us > 366 * USECS_PER_DAY)
		BadParam(tk, key, v, "It must be from 1 second to 1 year.");
}

static double
NumericParam(const SloTargetKind *tk, const char *key, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		BadParam(tk, key, v, "It must be a number.");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* Validate a header object: token names, string values without line breaks. */
static void
ValidateHeaders(const SloTargetKind *tk, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbIteratorToken r;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		BadParam(tk, "headers", v, "It must be an object of header names and values, such as {\"Authorization\": \"Bearer ...\"}.");
	it = JsonbIteratorInit(v->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			char	   *name = JString(&k);

			if (name[0] == '\0' || strlen(name) > 100 ||
				strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid header name in target param \"headers\": \"%s\"", SloClipText(name, SLO_SHOW_MAX)),
						 errhint("Header names are letters, digits, '-' and '_'.")));
			if (pg_strcasecmp(name, "Content-Type") == 0 || pg_strcasecmp(name, "Idempotency-Key") == 0 ||
				pg_strcasecmp(name, "Content-Length") == 0 || pg_strcasecmp(name, "Host") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("header \"%s\" in target param \"headers\" is set by slo_guard", name),
						 errhint("Content-Type, Content-Length, Host and Idempotency-Key are set for every request.")));
			r = JsonbIteratorNext(&it, &k, true);
			if (r != WJB_VALUE || k.type != jbvString || HasCrLf(k.val.string.val, k.val.string.len) ||
				k.val.string.len > 4000)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for header \"%s\" in target param \"headers\": (secret, not shown)",
								SloClipText(name, SLO_SHOW_MAX)),
						 errhint("A header value is a string of at most 4000 bytes without line breaks.")));
		}
	}
}

static void
ValidateAddress(const SloTargetKind *tk, const char *key, JsonbValue *v)
{
	if (v->type != jbvString || v->val.string.len < 3 || v->val.string.len > 254 ||
		HasCrLf(v->val.string.val, v->val.string.len) ||
		memchr(v->val.string.val, '@', v->val.string.len) == NULL ||
		memchr(v->val.string.val, '<', v->val.string.len) != NULL ||
		memchr(v->val.string.val, '>', v->val.string.len) != NULL ||
		memchr(v->val.string.val, ',', v->val.string.len) != NULL ||
		memchr(v->val.string.val, ' ', v->val.string.len) != NULL)
		BadParam(tk, key, v, "An e-mail address is a string such as \"oncall@example.com\" (no name part, no spaces).");
}

/*
 * Validate a target's params (secrets included) for its kind: known keys,
 * required keys, each value's type and range.
 */
static void
ValidateTargetParams(const SloTargetKind *tk, Jsonb *params)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbIteratorToken r;
	bool		has_digest = false;

	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"params\": %s",
						SloClipText(JsonbToCString(NULL, &params->root, VARSIZE(params)), SLO_SHOW_MAX)),
				 errhint("params must be a JSON object. %s. " COMMON_HINT, tk->hint)));

	it = JsonbIteratorInit(&params->root);
	while ((r = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue	v;

		if (r != WJB_KEY)
			continue;
		key = JString(&k);
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		if (!InList(common_keys, key) && !InList(tk->keys, key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown param \"%s\" for target kind \"%s\"", SloClipText(key, SLO_SHOW_MAX), tk->name),
					 errhint("%s. " COMMON_HINT, tk->hint)));

		if (strcmp(key, "headers") == 0)
			ValidateHeaders(tk, &v);
		else if (strcmp(key, "routing_key") == 0)
		{
			if (v.type != jbvString || v.val.string.len < 1 || v.val.string.len > 200 ||
				HasCrLf(v.val.string.val, v.val.string.len))
				BadParam(tk, key, &v, "It must be the integration key of a PagerDuty Events API v2 integration (a string).");
		}
		else if (strcmp(key, "user") == 0 || strcmp(key, "password") == 0)
		{
			if (v.type != jbvString || v.val.string.len > 1000 || HasCrLf(v.val.string.val, v.val.string.len))
				BadParam(tk, key, &v, "It must be a string without line breaks.");
		}
		else if (strcmp(key, "from") == 0)
			ValidateAddress(tk, key, &v);
		else if (strcmp(key, "to") == 0)
		{
			JsonbIterator *it2;
			JsonbValue	e;
			int			n = 0;

			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				BadParam(tk, key, &v, "It must be an array of e-mail addresses, such as [\"oncall@example.com\"].");
			it2 = JsonbIteratorInit(v.val.binary.data);
			while ((r = JsonbIteratorNext(&it2, &e, true)) != WJB_DONE)
				if (r == WJB_ELEM)
				{
					ValidateAddress(tk, key, &e);
					n++;
				}
			if (n == 0 || n > 100)
				BadParam(tk, key, &v, "It must list 1 to 100 e-mail addresses.");
		}
		else if (strcmp(key, "repeat_every") == 0 || strcmp(key, "digest_every") == 0)
			ValidateIntervalParam(tk, key, &v);
		else if (strcmp(key, "digest") == 0)
		{
			if (v.type != jbvString || v.val.string.len != 5 || strncmp(v.val.string.val, "daily", 5) != 0)
				BadParam(tk, key, &v, "digest takes 'daily': events are gathered into one message a day (digest_every changes the interval).");
			if (!tk->digest_ok)
				BadParam(tk, key, &v, "Only webhook, slack and email targets take a digest.");
			has_digest = true;
		}
		else if (strcmp(key, "rate_per_minute") == 0)
		{
			double		d = NumericParam(tk, key, &v);

			if (!(d > 0 && d <= 600000))
				BadParam(tk, key, &v, "It must be a number of messages a minute above 0 (at most 600000).");
		}
		else if (strcmp(key, "timeout_ms") == 0)
		{
			double		d = NumericParam(tk, key, &v);

			if (!(d >= 100 && d <= 300000))
				BadParam(tk, key, &v, "It must be from 100 to 300000 (milliseconds).");
		}
	}

	/* required keys */
	if (tk->required[0] != '\0')
	{
		char	   *req = pstrdup(tk->required);
		char	   *save = NULL;

		for (char *key = strtok_r(req, ",", &save); key; key = strtok_r(NULL, ",", &save))
		{
			JsonbValue	kv;

			kv.type = jbvString;
			kv.val.string.val = key;
			kv.val.string.len = strlen(key);
			if (findJsonbValueFromContainer(&params->root, JB_FOBJECT, &kv) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target kind \"%s\" needs param \"%s\"", tk->name, key),
						 errhint("%s. " COMMON_HINT, tk->hint)));
		}
	}
	{
		JsonbValue	kv;

		kv.type = jbvString;
		kv.val.string.val = "digest_every";
		kv.val.string.len = strlen("digest_every");
		if (!has_digest && findJsonbValueFromContainer(&params->root, JB_FOBJECT, &kv) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target param \"digest_every\" needs \"digest\""),
					 errhint("Pass digest => 'daily' with it: digest_every only changes how often the digest is sent.")));
	}
}

/* The SQL that splits params into public params and secrets ($1 = params). */
#define SQL_PUBLIC_PARAMS "($P - '{headers,routing_key,user,password}'::text[])"
#define SQL_SECRETS "jsonb_strip_nulls(jsonb_build_object('headers', $P -> 'headers', 'routing_key', $P -> 'routing_key', 'user', $P -> 'user', 'password', $P -> 'password'))"
#define SQL_DIGEST_NEXT "CASE WHEN $P ? 'digest' THEN coalesce(now() + ($P ->> 'digest_every')::interval, (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC') END"

/* Replace $P in a SQL text by the parameter reference given. */
static char *
WithParams(const char *sql, const char *ref)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *p = sql; *p; p++)
	{
		if (p[0] == '$' && p[1] == 'P')
		{
			appendStringInfoString(&buf, ref);
			p++;
		}
		else
			appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

PG_FUNCTION_INFO_V1(slo_add_target);

/* slo_add_target(name, kind, url, min_severity, params) */
Datum
slo_add_target(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	char	   *kindname = SloRequiredText(fcinfo, 1, "kind");
	char	   *url = SloRequiredText(fcinfo, 2, "url");
	char	   *minsev = ValidateMinSeverity(SloRequiredText(fcinfo, 3, "min_severity"));
	Jsonb	   *params;
	const SloTargetKind *tk;
	SloExtension ext;
	SloBookkeeping bk;
	Oid			owner = GetUserId();
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, REGROLEOID, TEXTOID};
	Datum		values[7];
	char	   *sql;
	int64		id;
	bool		isnull;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"params\" must not be null"),
				 errhint("Pass '{}' for a kind without required params.")));
	params = PG_GETARG_JSONB_P(4);

	ValidateTargetName(name);
	tk = GetTargetKind(kindname);
	ValidateTargetParams(tk, params);
	ValidateUrl(tk, url);

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(tk->name);
	values[2] = CStringGetTextDatum(SloUrlOrigin(url));
	values[3] = CStringGetTextDatum(minsev);
	values[4] = JsonbPGetDatum(params);
	values[5] = ObjectIdGetDatum(owner);
	values[6] = CStringGetTextDatum(GetUserNameFromId(owner, false));
	sql = psprintf("INSERT INTO %s.slo_target (name, kind, url, min_severity, params, owner, owner_name, digest_next_at) "
				   "VALUES ($1, $2, $3, $4, %s, $6, $7, %s) ON CONFLICT (name) DO NOTHING RETURNING id",
				   ext.nspname, WithParams(SQL_PUBLIC_PARAMS, "$5"), WithParams(SQL_DIGEST_NEXT, "$5"));
	if (SPI_execute_with_args(sql, 7, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "slo_guard: could not insert target");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("target \"%s\" already exists", name),
				 errhint("Use slo_alter_target() to change it, or slo_drop_target() first.")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	types[0] = INT8OID;
	values[0] = Int64GetDatum(id);
	values[2] = CStringGetTextDatum(url);
	sql = psprintf("INSERT INTO %s.slo_target_secret (target_id, owner, url, secrets) VALUES ($1, $6, $3, %s)",
				   ext.nspname, WithParams(SQL_SECRETS, "$5"));
	if (SPI_execute_with_args(sql, 7, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not insert target secrets");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_INT64(id);
}

/*
 * Read target "name" (locked FOR UPDATE) and check the caller may change it.
 * Returns its id, kind and merged params (public and secret), full url.
 */
static int64
LockTarget(const SloExtension *ext, const char *name, Oid caller, bool missing_ok, char **kind,
		   Jsonb **params, char **url)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *sql;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	Oid			owner;
	char	   *owner_name;

	values[0] = CStringGetTextDatum(name);
	sql = psprintf("SELECT t.id, t.kind, t.params || coalesce(s.secrets, '{}'), s.url, t.owner, t.owner_name "
				   "FROM %s.slo_target t LEFT JOIN %s.slo_target_secret s ON s.target_id = t.id "
				   "WHERE t.name = $1 FOR UPDATE OF t", ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read target");
	if (SPI_processed == 0)
	{
		if (missing_ok)
			return 0;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target \"%s\" does not exist", SloClipText(name, SLO_SHOW_MAX)),
				 errhint("SELECT name FROM slo_target lists the targets.")));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	owner = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	owner_name = SPI_getvalue(tup, desc, 6);
	SloCheckOwnership("target", name, owner, owner_name, caller);
	if (kind)
		*kind = SPI_getvalue(tup, desc, 2);
	if (params)
		*params = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 3, &isnull));
	if (url)
		*url = SPI_getvalue(tup, desc, 4);
	return DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
}

PG_FUNCTION_INFO_V1(slo_alter_target);

/* slo_alter_target(name, kind, url, min_severity, params, enabled) */
Datum
slo_alter_target(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	SloExtension ext;
	SloBookkeeping bk;
	char	   *old_kind;
	char	   *old_url;
	Jsonb	   *old_params;
	const SloTargetKind *tk;
	char	   *url;
	Jsonb	   *params;
	int64		id;
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, BOOLOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', 'n', ' ', 'n'};
	char	   *sql;

	Oid			caller = GetUserId();	/* before the switch to the extension owner */

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	id = LockTarget(&ext, name, caller, false, &old_kind, &old_params, &old_url);

	tk = GetTargetKind(PG_ARGISNULL(1) ? old_kind : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	params = PG_ARGISNULL(4) ? old_params : PG_GETARG_JSONB_P(4);
	url = PG_ARGISNULL(2) ? old_url : text_to_cstring(PG_GETARG_TEXT_PP(2));
	ValidateTargetParams(tk, params);
	if (url == NULL)
		elog(ERROR, "slo_guard: target \"%s\" has no secrets row", name);
	ValidateUrl(tk, url);

	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(tk->name);
	values[2] = CStringGetTextDatum(url);
	if (!PG_ARGISNULL(3))
	{
		values[3] = CStringGetTextDatum(ValidateMinSeverity(text_to_cstring(PG_GETARG_TEXT_PP(3))));
		nulls[3] = ' ';
	}
	values[4] = JsonbPGetDatum(params);
	if (!PG_ARGISNULL(5))
	{
		values[5] = BoolGetDatum(PG_GETARG_BOOL(5));
		nulls[5] = ' ';
	}
	sql = psprintf("UPDATE %s.slo_target SET kind = $2, url = $7, min_severity = coalesce($4, min_severity), "
				   "params = %s, enabled = coalesce($6, enabled), "
				   "digest_next_at = CASE WHEN $5 ? 'digest' THEN coalesce(digest_next_at, %s) END, "
				   "updated_at = now() WHERE id = $1",
				   ext.nspname, WithParams(SQL_PUBLIC_PARAMS, "$5"), WithParams(SQL_DIGEST_NEXT, "$5"));
	{
		Oid			types7[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, BOOLOID, TEXTOID};
		Datum		values7[7];
		char		nulls7[7];

		memcpy(values7, values, sizeof(values));
		memcpy(nulls7, nulls, sizeof(nulls));
		values7[6] = CStringGetTextDatum(SloUrlOrigin(url));
		nulls7[6] = ' ';
		if (SPI_execute_with_args(sql, 7, types7, values7, nulls7, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "slo_guard: could not update target");
	}
	sql = psprintf("UPDATE %s.slo_target_secret SET url = $3, secrets = %s WHERE target_id = $1",
				   ext.nspname, WithParams(SQL_SECRETS, "$5"));
	if (SPI_execute_with_args(sql, 6, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not update target secrets");

	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(slo_drop_target);

/* slo_drop_target(name, if_exists): the target goes with its secrets and deliveries. */
Datum
slo_drop_target(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	bool		if_exists = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	SloExtension ext;
	SloBookkeeping bk;
	int64		id;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	Oid			caller = GetUserId();	/* before the switch to the extension owner */

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	id = LockTarget(&ext, name, caller, if_exists, NULL, NULL, NULL);
	if (id != 0)
	{
		values[0] = Int64GetDatum(id);
		if (SPI_execute_with_args(psprintf("DELETE FROM %s.slo_target WHERE id = $1", ext.nspname),
								  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "slo_guard: could not delete target");
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	PG_RETURN_BOOL(id != 0);
}

PG_FUNCTION_INFO_V1(slo_test_target);

/* slo_test_target(name): queue a test message; returns the delivery id. */
Datum
slo_test_target(PG_FUNCTION_ARGS)
{
	char	   *name = SloRequiredText(fcinfo, 0, "name");
	SloExtension ext;
	SloBookkeeping bk;
	int64		id;
	int64		did;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	char	   *who = GetUserNameFromId(GetUserId(), false);

	Oid			caller = GetUserId();	/* before the switch to the extension owner */

	SloGetExtension(&ext);
	SloEnterBookkeeping(&ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	id = LockTarget(&ext, name, caller, false, NULL, NULL, NULL);
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(who);
	if (SPI_execute_with_args(psprintf("INSERT INTO %s.slo_delivery (target_id, kind, event, severity, payload) "
									   "SELECT t.id, 'test', 'test', t.min_severity, jsonb_build_object("
									   "'event', 'test', 'alert_id', NULL, 'check', NULL, 'kind', NULL, "
									   "'severity', t.min_severity, 'status', NULL, 'value', NULL, "
									   "'summary', format('Test message from slo_guard to target %%s, queued by %%s', t.name, $2), "
									   "'labels', '{}'::jsonb, 'at', now(), 'database', current_database()) "
									   "FROM %s.slo_target t WHERE t.id = $1 RETURNING id",
									   ext.nspname, ext.nspname),
							  2, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not queue test delivery");
	did = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	SloDeliveryWakeOnCommit();
	PG_RETURN_INT64(did);
}
