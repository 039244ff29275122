/*-------------------------------------------------------------------------
 * http.c
 *	  Check kind "http": probe an HTTP(S) endpoint.  An asynchronous kind
 *	  (kind.h): start prepares a libcurl easy handle and queues it, poll
 *	  drives one libcurl multi handle shared by every probe of this process
 *	  (so all due probes are in flight at once, at most
 *	  slo_guard.max_concurrent_http; the others wait their turn in a queue),
 *	  finish judges status, latency and the JSON body (value_path, assert),
 *	  release gives the transfer up.
 *
 *	  poll runs outside the check's sealed context, perhaps with no
 *	  transaction open (a run worker parks its probes between transactions):
 *	  it does network I/O only, allocates with malloc, never throws.  The
 *	  body is read into memory up to SLO_HTTP_BODY_MAX (larger is the
 *	  check's error), used by finish and never stored.  Summaries name the
 *	  URL only by its origin (SloUrlOrigin): a query string may hold a key.
 *
 *	  Header values are secrets: slo_add_check / slo_alter_check store them
 *	  in slo_check_secret (readable by the check's owner and superusers
 *	  only, row-level security) and leave "********" in slo_check.params
 *	  (trigger slo_check_secret_split); start reads them back as the
 *	  extension owner.  They appear in no result, summary, error or log.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <curl/curl.h>

#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/jsonpath.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "guc.h"
#include "kind.h"
#include "net.h"

#define KIND_NAME "http"
#define SLO_HTTP_SCHEMES "http,https"
#define SLO_HTTP_BODY_MAX (1024 * 1024)
#define SLO_HTTP_DEFAULT_TIMEOUT_MS 5000
#define SLO_HTTP_MAX_HEADERS 50
#define SLO_HTTP_HEADER_NAME_MAX 256
#define SLO_HTTP_HEADER_VALUE_MAX 8192
#define SLO_HTTP_BODY_PARAM_MAX (64 * 1024)
#define SLO_HTTP_JSONPATH_MAX 1024
/* What slo_check.params shows instead of a header value. */
#define SLO_SECRET_MARK "********"

static const SloParam params[] = {
	{"url", SLO_PARAM_STRING, true, SLO_NO_RANGE},
	{"method", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"headers", SLO_PARAM_SECRET_OBJECT, false, SLO_NO_RANGE},
	{"body", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"expect_status", SLO_PARAM_INTEGER, false, 100, 599},
	{"timeout_ms", SLO_PARAM_INTEGER, false, 1, 3600000},
	{"warn_ms", SLO_PARAM_NUMBER, false, 0, 3600000},
	{"fail_ms", SLO_PARAM_NUMBER, false, 0, 3600000},
	{"value_path", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"assert", SLO_PARAM_STRING, false, SLO_NO_RANGE},
	{"warn_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"fail_above", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"warn_below", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	{"fail_below", SLO_PARAM_NUMBER, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};

/* One probe: from start to release. */
typedef struct HttpProbe
{
	dlist_node	node;			/* in the waiting queue while queued */
	CURL	   *h;
	struct curl_slist *hdrs;
	int			timeout_ms;		/* the transfer's own timeout */
	int			check_timeout_ms;	/* the run loop's, counted from start */
	TimestampTz started;
	bool		queued;
	bool		active;			/* in the multi handle */
	bool		done;
	bool		too_big;
	CURLcode	rc;
	long		status;
	double		total_ms;
	char	   *body;			/* malloc'd, NUL-terminated */
	size_t		len;
	uint64		seen_drive;
	char		failure[256];	/* filled when done with rc != OK */
	char		errbuf[CURL_ERROR_SIZE];
} HttpProbe;

/* The process's probes: one multi handle, a queue of those waiting for a slot. */
static CURLM *multi = NULL;
static int	nactive = 0;
static dlist_head waiting = DLIST_STATIC_INIT(waiting);
static uint64 drive_no = 1;

static char *
Num(double v)
{
	return psprintf("%g", v);
}

/* ---- validation ---- */

static void
CheckJsonPath(const char *key, const char *path)
{
	if (strlen(path) > SLO_HTTP_JSONPATH_MAX)
		SloParamError(KIND_NAME, key, SloClipText(path, 100),
					  psprintf("A jsonpath may be at most %d bytes.", SLO_HTTP_JSONPATH_MAX));
	PG_TRY();
	{
		(void) DirectFunctionCall1(jsonpath_in, CStringGetDatum(path));
	}
	PG_CATCH();
	{
		FlushErrorState();
		SloParamError(KIND_NAME, key, SloClipText(path, 100),
					  "It is not a valid jsonpath (see the PostgreSQL manual, \"SQL/JSON Path Language\").");
	}
	PG_END_TRY();
}

static void
http_validate(Jsonb *p)
{
	const char *url = SloParamString(p, "url", NULL);
	const char *method = SloParamString(p, "method", NULL);
	const char *s;
	char	   *why;
	double		warn,
				fail;
	JsonbValue	buf;
	JsonbValue *hv;

	if (url && !SloUrlAllowed(url, SLO_HTTP_SCHEMES, &why))
		SloParamError(KIND_NAME, "url", psprintf("%s (%s)", SloUrlOrigin(url), why),
					  "Only the origin of the url is shown. Hosts are allowed by slo_guard.allowed_hosts (names and CIDR ranges; '*' any).");
	if (method)
	{
		bool		ok = false;

		for (int i = 0; methods[i]; i++)
			if (strcmp(methods[i], method) == 0)
				ok = true;
		if (!ok)
			SloParamError(KIND_NAME, "method", SloClipText(method, 40),
						  "The method must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (upper case).");
	}
	s = SloParamString(p, "body", NULL);
	if (s && strlen(s) > SLO_HTTP_BODY_PARAM_MAX)
		SloParamError(KIND_NAME, "body", SloClipText(s, 40),
					  psprintf("The body may be at most %d bytes.", SLO_HTTP_BODY_PARAM_MAX));
	if ((s = SloParamString(p, "value_path", NULL)) != NULL)
		CheckJsonPath("value_path", s);
	if ((s = SloParamString(p, "assert", NULL)) != NULL)
		CheckJsonPath("assert", s);

	/* headers: an object of strings, names a token, bounded; values never shown */
	hv = getKeyJsonValueFromContainer(&p->root, "headers", 7, &buf);
	if (hv && hv->type == jbvBinary)
	{
		JsonbIterator *it = JsonbIteratorInit(hv->val.binary.data);
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			n = 0;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
			{
				char	   *name = pnstrdup(v.val.string.val, v.val.string.len);

				n++;
				if (v.val.string.len == 0 || v.val.string.len > SLO_HTTP_HEADER_NAME_MAX)
					SloParamError(KIND_NAME, "headers", SloClipText(name, 60),
								  psprintf("A header name must have 1 to %d bytes.", SLO_HTTP_HEADER_NAME_MAX));
				for (const char *c = name; *c; c++)
					if (!(isalnum((unsigned char) *c) || strchr("!#$%&'*+-.^_`|~", *c)))
						SloParamError(KIND_NAME, "headers", SloClipText(name, 60),
									  "A header name is a token: letters, digits and !#$%&'*+-.^_`|~.");
			}
			else if (tok == WJB_VALUE && v.type == jbvString)
			{
				if (v.val.string.len > SLO_HTTP_HEADER_VALUE_MAX)
					SloParamError(KIND_NAME, "headers", "(a value, not shown)",
								  psprintf("A header value may be at most %d bytes.", SLO_HTTP_HEADER_VALUE_MAX));
				for (int i = 0; i < v.val.string.len; i++)
					if (v.val.string.val[i] == '\r' || v.val.string.val[i] == '\n' ||
						v.val.string.val[i] == '\0')
						SloParamError(KIND_NAME, "headers", "(a value, not shown)",
									  "A header value must not contain line breaks.");
			}
		}
		if (n > SLO_HTTP_MAX_HEADERS)
			SloParamError(KIND_NAME, "headers", psprintf("(%d headers)", n),
						  psprintf("At most %d headers.", SLO_HTTP_MAX_HEADERS));
	}

	if (SloParamNumber(p, "warn_ms", &warn) && SloParamNumber(p, "fail_ms", &fail) && warn > fail)
		SloParamError(KIND_NAME, "warn_ms", Num(warn),
					  psprintf("warn_ms (%s) must not be greater than fail_ms (%s).", Num(warn), Num(fail)));
	if (SloParamNumber(p, "warn_above", &warn) && SloParamNumber(p, "fail_above", &fail) && warn > fail)
		SloParamError(KIND_NAME, "warn_above", Num(warn),
					  psprintf("warn_above (%s) must not be greater than fail_above (%s).", Num(warn), Num(fail)));
	if (SloParamNumber(p, "warn_below", &warn) && SloParamNumber(p, "fail_below", &fail) && warn < fail)
		SloParamError(KIND_NAME, "warn_below", Num(warn),
					  psprintf("warn_below (%s) must not be less than fail_below (%s).", Num(warn), Num(fail)));
}

/* ---- libcurl callbacks (no palloc, no ereport) ---- */

static size_t
WriteBody(char *data, size_t size, size_t nmemb, void *arg)
{
	HttpProbe  *pr = (HttpProbe *) arg;
	size_t		n = size * nmemb;
	char	   *nb;

	if (pr->len + n > SLO_HTTP_BODY_MAX)
	{
		pr->too_big = true;
		return 0;				/* CURLE_WRITE_ERROR */
	}
	nb = realloc(pr->body, pr->len + n + 1);
	if (nb == NULL)
		return 0;
	pr->body = nb;
	memcpy(pr->body + pr->len, data, n);
	pr->len += n;
	pr->body[pr->len] = '\0';
	return n;
}

/* Headers are not kept: a probe only needs the status (libcurl keeps it). */
static size_t
DiscardHeader(char *data, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* ---- the shared multi handle ---- */

static void
ProbeDone(HttpProbe *pr, CURLcode rc)
{
	curl_off_t	t = 0;

	pr->rc = rc;
	pr->done = true;
	if (rc == CURLE_FILESIZE_EXCEEDED)
		pr->too_big = true;
	if (curl_easy_getinfo(pr->h, CURLINFO_RESPONSE_CODE, &pr->status) != CURLE_OK)
		pr->status = 0;
	if (curl_easy_getinfo(pr->h, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
		pr->total_ms = (double) t / 1000.0;
	else
		pr->total_ms = (double) (GetCurrentTimestamp() - pr->started) / 1000.0;
	if (rc != CURLE_OK)
		strlcpy(pr->failure, SloCurlFailure(pr->h, rc, pr->errbuf), sizeof(pr->failure));
}

static void
ProbeFailNow(HttpProbe *pr, const char *why)
{
	pr->rc = CURLE_OPERATION_TIMEDOUT;
	pr->done = true;
	pr->total_ms = (double) (GetCurrentTimestamp() - pr->started) / 1000.0;
	strlcpy(pr->failure, why, sizeof(pr->failure));
}

/* Move waiting probes into the multi handle while slots are free. */
static void
FillSlots(void)
{
	while (nactive < slo_max_concurrent_http && !dlist_is_empty(&waiting))
	{
		HttpProbe  *pr = dlist_container(HttpProbe, node, dlist_pop_head_node(&waiting));
		long		left;
		CURLMcode	mc;

		pr->queued = false;
		/* what is left of the check's timeout, less a margin for finish */
		left = pr->check_timeout_ms - 100 -
			(long) ((GetCurrentTimestamp() - pr->started) / 1000);
		if (left <= 0)
		{
			ProbeFailNow(pr, "timed out waiting for a free slot (slo_guard.max_concurrent_http)");
			continue;
		}
		if (curl_easy_setopt(pr->h, CURLOPT_TIMEOUT_MS, Min((long) pr->timeout_ms, left)) != CURLE_OK ||
			curl_easy_setopt(pr->h, CURLOPT_CONNECTTIMEOUT_MS, Min((long) pr->timeout_ms, left)) != CURLE_OK)
		{
			ProbeFailNow(pr, "libcurl refused the timeout");
			continue;
		}
		mc = curl_multi_add_handle(multi, pr->h);
		if (mc != CURLM_OK)
		{
			snprintf(pr->failure, sizeof(pr->failure), "libcurl multi error: %s", curl_multi_strerror(mc));
			pr->rc = CURLE_FAILED_INIT;
			pr->done = true;
			continue;
		}
		pr->active = true;
		nactive++;
	}
}

/* Let libcurl make progress on every transfer and collect those that ended. */
static void
Drive(void)
{
	int			running = 0;
	CURLMcode	mc;
	CURLMsg    *msg;
	int			left;

	for (int round = 0; round < 2; round++)
	{
		FillSlots();
		if (nactive == 0)
			return;
		mc = curl_multi_perform(multi, &running);
		if (mc != CURLM_OK)
			elog(LOG, "slo_guard: curl_multi_perform failed: %s", curl_multi_strerror(mc));
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		{
			HttpProbe  *pr = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &pr) != CURLE_OK ||
				pr == NULL)
				continue;
			ProbeDone(pr, msg->data.result);
			(void) curl_multi_remove_handle(multi, pr->h);
			pr->active = false;
			nactive--;
		}
		/* slots were freed: start the next ones at once */
		if (dlist_is_empty(&waiting) || nactive >= slo_max_concurrent_http)
			break;
	}
}

/* ---- the kind ---- */

/* The check's header values from slo_check_secret (read as the extension owner). */
static Jsonb *
ReadSecretHeaders(const SloCheck *check)
{
	SloBookkeeping bk;
	Jsonb	   *res = NULL;
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(check->id)};
	MemoryContext outer = CurrentMemoryContext;

	SloEnterBookkeeping(check->ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	if (SPI_execute_with_args(psprintf("SELECT headers FROM %s.slo_check_secret WHERE check_id = $1",
									   check->ext->nspname),
							  1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "slo_guard: reading slo_check_secret failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			res = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	return res;
}

/* Set the request headers (names from params, values from the secret table). */
static struct curl_slist *
BuildHeaders(const SloCheck *check)
{
	JsonbValue	buf;
	JsonbValue *hv = getKeyJsonValueFromContainer(&check->params->root, "headers", 7, &buf);
	Jsonb	   *secret = NULL;
	struct curl_slist *list = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *name = NULL;

	if (hv == NULL || hv->type != jbvBinary)
		return NULL;
	secret = ReadSecretHeaders(check);
	it = JsonbIteratorInit(hv->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *value;
		struct curl_slist *nl;

		if (tok == WJB_KEY)
		{
			name = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE || v.type != jbvString || name == NULL)
			continue;
		value = pnstrdup(v.val.string.val, v.val.string.len);
		if (strcmp(value, SLO_SECRET_MARK) == 0)
		{
			const char *sv = secret ? SloParamString(secret, name, NULL) : NULL;

			if (sv == NULL)
			{
				curl_slist_free_all(list);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the value of header \"%s\" of http check \"%s\" is not stored",
								SloClipText(name, 60), check->name),
						 errhint("Set it again with slo_alter_check(params => ...).")));
			}
			value = (char *) sv;
		}
		nl = curl_slist_append(list, psprintf("%s: %s", name, value));
		if (nl == NULL)
		{
			curl_slist_free_all(list);
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		}
		list = nl;
	}
	/* a body we send is JSON unless the check says otherwise; no Expect: 100-continue */
	list = curl_slist_append(list, "Expect:");
	return list;
}

static void
http_release(void *state)
{
	HttpProbe  *pr = (HttpProbe *) state;

	if (pr == NULL)
		return;
	if (pr->queued)
	{
		dlist_delete(&pr->node);
		pr->queued = false;
	}
	if (pr->active)
	{
		(void) curl_multi_remove_handle(multi, pr->h);
		pr->active = false;
		nactive--;
	}
	if (pr->h)
		curl_easy_cleanup(pr->h);
	pr->h = NULL;
	if (pr->hdrs)
		curl_slist_free_all(pr->hdrs);
	pr->hdrs = NULL;
	if (pr->body)
		free(pr->body);
	pr->body = NULL;
}

static void *
http_start(const SloCheck *check, MemoryContext statecxt, SloOutcome *out)
{
	HttpProbe  *pr;
	const char *url;
	const char *method;
	const char *body;
	double		d;
	MemoryContext old;
	char	   *why;

	SloRunParams(check);
	url = SloRunString(check, "url");
	/* the setting may have changed since the check was added */
	if (!SloUrlAllowed(url, SLO_HTTP_SCHEMES, &why))
	{
		SloOutcomeSet(out, SLO_ERROR, false, 0, "Probe of %s not sent: %s.", SloUrlOrigin(url), why);
		return NULL;
	}
	method = SloParamString(check->params, "method", "GET");
	body = SloParamString(check->params, "body", NULL);

	SloCurlGlobalInit();
	if (multi == NULL)
	{
		multi = curl_multi_init();
		if (multi == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create a libcurl multi handle")));
	}

	old = MemoryContextSwitchTo(statecxt);
	pr = palloc0(sizeof(HttpProbe));
	MemoryContextSwitchTo(old);
	pr->started = GetCurrentTimestamp();
	pr->timeout_ms = SLO_HTTP_DEFAULT_TIMEOUT_MS;
	if (SloParamNumber(check->params, "timeout_ms", &d))
		pr->timeout_ms = (int) d;
	pr->check_timeout_ms = slo_check_timeout_ms;
	pr->h = curl_easy_init();
	if (pr->h == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create a libcurl handle")));

	PG_TRY();
	{
		SloCurlPrepare(pr->h, url, SLO_HTTP_SCHEMES, pr->timeout_ms, pr->errbuf);
		pr->hdrs = BuildHeaders(check);
		if (curl_easy_setopt(pr->h, CURLOPT_PRIVATE, (char *) pr) != CURLE_OK ||
			curl_easy_setopt(pr->h, CURLOPT_WRITEFUNCTION, WriteBody) != CURLE_OK ||
			curl_easy_setopt(pr->h, CURLOPT_WRITEDATA, (void *) pr) != CURLE_OK ||
			curl_easy_setopt(pr->h, CURLOPT_HEADERFUNCTION, DiscardHeader) != CURLE_OK ||
			curl_easy_setopt(pr->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) SLO_HTTP_BODY_MAX) != CURLE_OK ||
			(pr->hdrs && curl_easy_setopt(pr->h, CURLOPT_HTTPHEADER, pr->hdrs) != CURLE_OK) ||
			curl_easy_setopt(pr->h, CURLOPT_CUSTOMREQUEST,
							 strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? NULL : method) != CURLE_OK ||
			(strcmp(method, "HEAD") == 0 && curl_easy_setopt(pr->h, CURLOPT_NOBODY, 1L) != CURLE_OK) ||
			(body && curl_easy_setopt(pr->h, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK))
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("libcurl refused an option of http check \"%s\"", check->name)));
	}
	PG_CATCH();
	{
		http_release(pr);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pr->queued = true;
	dlist_push_tail(&waiting, &pr->node);
	return pr;
}

static bool
http_poll(void *state, long *wait_ms)
{
	HttpProbe  *pr = (HttpProbe *) state;
	long		t = -1;

	if (pr->done)
		return true;
	/* a cancel or shutdown is the caller's to act on: no more I/O meanwhile */
	if (QueryCancelPending || ProcDiePending)
	{
		*wait_ms = 1;
		return false;
	}
	/* one Drive per round over the in-flight checks: the first poll after the last one */
	if (pr->seen_drive == drive_no || pr->seen_drive == 0)
	{
		drive_no++;
		Drive();
	}
	pr->seen_drive = drive_no;
	if (pr->done)
		return true;
	/* libcurl says when it wants to be called; socket events come sooner, so look often */
	if (multi == NULL || curl_multi_timeout(multi, &t) != CURLM_OK || t < 0)
		t = 10;
	*wait_ms = Max(1, Min(t, 5));
	return false;
}

/* Evaluate a jsonpath on the body: assert (a predicate) or value_path (the first item). */
static bool
PathCall(PGFunction fn, Jsonb *doc, const char *path, Datum *res)
{
	LOCAL_FCINFO(fcinfo, 4);
	Datum		jp = DirectFunctionCall1(jsonpath_in, CStringGetDatum(path));
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 4, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = JsonbPGetDatum(doc);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = jp;
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	fcinfo->args[2].isnull = false;
	fcinfo->args[3].value = BoolGetDatum(true);	/* silent: structural errors are "no match" */
	fcinfo->args[3].isnull = false;
	d = fn(fcinfo);
	if (fcinfo->isnull)
		return false;
	*res = d;
	return true;
}

/* The body as jsonb, or NULL if it is not JSON (the parse error says nothing of it). */
static Jsonb *
BodyJson(HttpProbe *pr)
{
	Jsonb	   *volatile doc = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	if (pr->body == NULL)
		return NULL;
	PG_TRY();
	{
		doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pr->body)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		doc = NULL;
	}
	PG_END_TRY();
	return doc;
}

static void
http_finish(const SloCheck *check, void *state, SloOutcome *out)
{
	HttpProbe  *pr = (HttpProbe *) state;
	Jsonb	   *p = check->params;
	const char *url = SloRunString(check, "url");
	char	   *origin = SloUrlOrigin(url);
	const char *method = SloParamString(p, "method", "GET");
	const char *value_path = SloParamString(p, "value_path", NULL);
	const char *assert_path = SloParamString(p, "assert", NULL);
	double		expect = 200,
				warn_ms = 0,
				fail_ms = 0,
				th;
	bool		has_warn_ms = SloParamNumber(p, "warn_ms", &warn_ms);
	bool		has_fail_ms = SloParamNumber(p, "fail_ms", &fail_ms);
	double		ms = pr->total_ms;
	double		value = ms;
	char	   *what;
	Jsonb	   *doc = NULL;

	(void) SloParamNumber(p, "expect_status", &expect);

	if (pr->rc != CURLE_OK)
	{
		if (pr->too_big)
			SloOutcomeSet(out, SLO_ERROR, true, ms,
						  "%s %s: the body is larger than %d bytes; a probe reads at most that.",
						  method, origin, SLO_HTTP_BODY_MAX);
		else if (strstr(pr->failure, "slo_guard.allowed_hosts") != NULL)
			SloOutcomeSet(out, SLO_ERROR, false, 0, "%s %s not sent: %s.", method, origin, pr->failure);
		else if (pr->rc == CURLE_OPERATION_TIMEDOUT)
			SloOutcomeSet(out, SLO_FAIL, true, ms, "%s %s: no answer within %.0f ms (%s).",
						  method, origin, ms, pr->failure);
		else
			SloOutcomeSet(out, SLO_FAIL, true, ms, "%s %s failed after %.0f ms: %s.",
						  method, origin, ms, pr->failure);
		SloOutcomeDetail(out, psprintf("{\"curl_code\": %d, \"latency_ms\": %.1f}", (int) pr->rc, ms));
		return;
	}

	what = psprintf("%s %s: HTTP %ld in %.0f ms", method, origin, pr->status, ms);
	SloOutcomeDetail(out, psprintf("{\"http_status\": %ld, \"latency_ms\": %.1f, \"body_bytes\": %zu}",
								   pr->status, ms, pr->len));
	if (pr->status != (long) expect)
	{
		SloOutcomeSet(out, SLO_FAIL, true, ms, "%s, expected %ld.", what, (long) expect);
		return;
	}
	if (value_path || assert_path)
	{
		doc = BodyJson(pr);
		if (doc == NULL)
		{
			SloOutcomeSet(out, SLO_FAIL, true, ms, "%s; the body is not JSON, so %s cannot be read.",
						  what, assert_path ? "assert" : "value_path");
			return;
		}
	}
	if (assert_path)
	{
		Datum		r;

		if (!PathCall(jsonb_path_match, doc, assert_path, &r) || !DatumGetBool(r))
		{
			SloOutcomeSet(out, SLO_FAIL, true, ms, "%s; assert %s does not hold.",
						  what, SloClipText(assert_path, 100));
			return;
		}
	}
	if (value_path)
	{
		Datum		r;
		Jsonb	   *jv;
		JsonbValue	sv;

		if (!PathCall(jsonb_path_query_first, doc, value_path, &r) ||
			(jv = DatumGetJsonbP(r)) == NULL || !JsonbExtractScalar(&jv->root, &sv) ||
			sv.type != jbvNumeric)
		{
			SloOutcomeSet(out, SLO_FAIL, false, 0, "%s; no number at value_path %s.",
						  what, SloClipText(value_path, 100));
			return;
		}
		value = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(sv.val.numeric)));
		what = psprintf("%s, %s = %s", what, SloClipText(value_path, 60), Num(value));
	}

	if (has_fail_ms && ms > fail_ms)
		SloOutcomeSet(out, SLO_FAIL, true, value, "%s, slower than fail_ms %s.", what, Num(fail_ms));
	else if (SloParamNumber(p, "fail_above", &th) && value > th)
		SloOutcomeSet(out, SLO_FAIL, true, value, "%s, above the fail threshold of %s.", what, Num(th));
	else if (SloParamNumber(p, "fail_below", &th) && value < th)
		SloOutcomeSet(out, SLO_FAIL, true, value, "%s, below the fail threshold of %s.", what, Num(th));
	else if (has_warn_ms && ms > warn_ms)
		SloOutcomeSet(out, SLO_WARN, true, value, "%s, slower than warn_ms %s.", what, Num(warn_ms));
	else if (SloParamNumber(p, "warn_above", &th) && value > th)
		SloOutcomeSet(out, SLO_WARN, true, value, "%s, above the warn threshold of %s.", what, Num(th));
	else if (SloParamNumber(p, "warn_below", &th) && value < th)
		SloOutcomeSet(out, SLO_WARN, true, value, "%s, below the warn threshold of %s.", what, Num(th));
	else
		SloOutcomeSet(out, SLO_OK, true, value, "%s.", what);
}

const SloKind SloKindHttp = {
	.name = KIND_NAME,
	.description = "probes an HTTP(S) endpoint (libcurl, many at once, no transaction open in the worker); fails on an unexpected status, a timeout, fail_ms, a false assert or a value_path number past a threshold; value = that number, else latency ms",
	.params = params,
	.validate = http_validate,
	.start = http_start,
	.poll = http_poll,
	.finish = http_finish,
	.release = http_release,
	.value_is_latency = true,
};
