/*-------------------------------------------------------------------------
 * delivery.c
 *	  The delivery outbox and its sender.
 *
 *	  SloDeliveryEnqueue writes one slo_delivery row per matching target in
 *	  the transaction of the alert event (so a crash loses neither or both)
 *	  and wakes the worker at commit.  The worker's "deliveries" job
 *	  (SloDeliveryJob) then, in one short transaction: queues again what a
 *	  dead worker left `sending`, queues repeats (repeat_every) and digests
 *	  that are due, and claims a batch of due rows FOR UPDATE SKIP LOCKED,
 *	  marking them `sending` under a lease, with each request body built by
 *	  slo_delivery_body() for its target's kind; it commits.  With no
 *	  transaction open it sends them all at once through one libcurl multi
 *	  handle (at most SLO_SEND_CONCURRENCY transfers at a time, connections
 *	  kept between rounds), paced per target (Slack about 1 a second,
 *	  PagerDuty about 120 a minute, rate_per_minute overrides).  Then a new
 *	  transaction writes each outcome: delivered; queued again with
 *	  exponential backoff and jitter (timeouts, connection errors, 5xx, 429
 *	  honouring Retry-After) until slo_guard.delivery_max_attempts; or dead
 *	  (any other 4xx at once, with the status in last_error).  At least
 *	  once: a row left `sending` by a crash is sent again; exactly once in
 *	  the normal path.  The delivery id is the Idempotency-Key of every
 *	  request.  Errors are built from curl codes, statuses and the url's
 *	  origin only (net.c): never a secret.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <limits.h>
#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "common/pg_prng.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "delivery.h"
#include "oncall.h"
#include "extension.h"
#include "guc.h"
#include "net.h"
#include "slo_guard.h"
#include "wake.h"

/* Deliveries claimed per round, and transfers in flight at once. */
#define SLO_SEND_BATCH			500
#define SLO_SEND_CONCURRENCY	64
/* Rows of delivered, dead or digested deliveries trimmed per round. */
#define SLO_DELIVERY_TRIM		1000
/* Events listed in one digest (the count says how many there were). */
#define SLO_DIGEST_MAX_EVENTS	200
/* Housekeeping (lost leases, repeats, digests, trim) at most this often. */
#define SLO_HOUSEKEEPING_MS		1000
/* After a round that found nothing, the next one waits at least this long. */
#define SLO_IDLE_GAP_MS			100

int			slo_delivery_max_attempts = 12;
int			slo_delivery_retry_max_s = 600;
int			slo_delivery_timeout_ms = 10000;

static bool first_round = true;
static TimestampTz housekeeping_at = 0;
static TimestampTz idle_round_at = 0;	/* last round that claimed nothing */
static CURLM *multi = NULL;

/* One claimed delivery: the request, then its outcome. */
typedef struct SloSend
{
	int64		id;
	int64		target_id;
	char	   *tkind;
	char	   *url;
	char	   *headers;		/* "Name: value" lines */
	char	   *user;
	char	   *password;
	char	   *from;
	char	   *rcpt;			/* addresses, one a line */
	char	   *body;
	size_t		body_len;
	size_t		body_off;
	double		rate;			/* per minute; 0 = unpaced */
	int			attempts;		/* before this one */
	long		timeout_ms;
	/* transfer */
	CURL	   *h;
	struct curl_slist *hdrs;
	struct curl_slist *rcpts;
	char		errbuf[CURL_ERROR_SIZE];
	/* outcome */
	const char *state;			/* queued, delivered, dead */
	int			inc;			/* attempts made (0 when deferred by pace) */
	double		delay_s;		/* when queued again */
	char	   *error;
	int			status;			/* -1: none */
} SloSend;

/* The pace of one target (in this worker's memory). */
typedef struct SloPace
{
	int64		target_id;
	TimestampTz next_free;		/* when it may send its next request */
	int			deferred;		/* requests deferred in this round */
} SloPace;

static SloPace *paces = NULL;
static int	npaces = 0;
static int	maxpaces = 0;


void
SloDeliveryGucInit(void)
{
	DefineCustomIntVariable("slo_guard.delivery_max_attempts",
							gettext_noop("Requests made for one delivery before it is marked dead."),
							gettext_noop("Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and jitter; any other 4xx is dead at once."),
							&slo_delivery_max_attempts,
							12, 1, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("slo_guard.delivery_retry_max",
							gettext_noop("Longest wait between two attempts of a delivery."),
							gettext_noop("The backoff doubles from 1 second up to this."),
							&slo_delivery_retry_max_s,
							600, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("slo_guard.delivery_timeout",
							gettext_noop("Longest time one delivery request may take (a target's timeout_ms overrides it)."),
							NULL,
							&slo_delivery_timeout_ms,
							10000, 100, 300000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Enqueue (in the alert event's transaction)
 * ---------------------------------------------------------------------
 */

void
SloDeliveryWakeOnCommit(void)
{
	SloWakeAtCommit();
}

void
SloDeliveryEnqueue(const SloExtension *ext, int64 event_id, int64 alert_id,
				   const char *event, const char *severity, const char *payload)
{
	Oid			types[5] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char	   *sql;

	values[0] = Int64GetDatum(event_id);
	values[1] = Int64GetDatum(alert_id);
	values[2] = CStringGetTextDatum(event);
	values[3] = CStringGetTextDatum(severity);
	values[4] = CStringGetTextDatum(payload);
	sql = psprintf("INSERT INTO %s.slo_delivery (target_id, event_id, alert_id, kind, event, severity, payload, state) "
				   "SELECT t.id, $1, $2, 'event', $3, $4, $5::jsonb, "
				   "CASE WHEN t.params ? 'digest' THEN 'held' ELSE 'queued' END "
				   "FROM %s.slo_target t WHERE t.enabled AND $4 COLLATE \"C\" <= t.min_severity COLLATE \"C\"",
				   ext->nspname, ext->nspname);
	if (SPI_execute_with_args(sql, 5, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "slo_guard: could not queue deliveries");
	if (SPI_processed > 0)
		SloDeliveryWakeOnCommit();
}

/* ---------------------------------------------------------------------
 * The sender
 * ---------------------------------------------------------------------
 */

static char *
CopyValue(MemoryContext cxt, HeapTuple tup, TupleDesc desc, int col)
{
	char	   *s = SPI_getvalue(tup, desc, col);

	return s ? MemoryContextStrdup(cxt, s) : NULL;
}

/* Begin a job transaction; false (and nothing open) if slo_guard is not usable here. */
static bool
BeginXact(SloExtension *ext, SloBookkeeping *bk)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!SloFindExtension(ext) || !ext->version_ok)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	SloEnterBookkeeping(ext, bk);
	return true;
}

static void
EndXact(SloBookkeeping *bk, MemoryContext cxt)
{
	SloLeaveBookkeeping(bk);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	MemoryContextSwitchTo(cxt);
}

static void
Exec(const char *sql, int expected)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret != expected)
		elog(ERROR, "slo_guard: delivery statement failed: %s", SPI_result_code_string(ret));
}

/*
 * Housekeeping of a round: requeue what a dead worker left sending (all of
 * it in the first round after the worker started: only this worker sends),
 * queue repeats and digests that are due, trim old finished rows.
 */
static void
Housekeeping(const SloExtension *ext)
{
	const char *s = ext->nspname;

	Exec(psprintf("UPDATE %s.slo_delivery SET state = 'queued', lease_until = NULL, "
				  "next_attempt_at = least(next_attempt_at, now()) "
				  "WHERE state = 'sending' %s", s,
				  first_round ? "" : "AND lease_until < now()"), SPI_OK_UPDATE);
	first_round = false;

	/*
	 * repeat_every: a firing, unacknowledged alert that this target got,
	 * whose last delivery here is older than the interval, is sent again
	 * (its latest firing or escalated event); not while a silence covers
	 * its check (issue 12: nothing is sent while silenced).
	 */
	Exec(psprintf("INSERT INTO %s.slo_delivery (target_id, alert_id, kind, event, severity, payload) "
				  "SELECT t.id, a.id, 'repeat', e.event, a.severity, "
				  "       e.payload || jsonb_build_object('repeat', true, 'at', now()) "
				  "  FROM %s.slo_target t "
				  "  JOIN %s.slo_alert a ON a.state = 'firing' AND a.acknowledged_at IS NULL "
				  "                    AND a.severity COLLATE \"C\" <= t.min_severity COLLATE \"C\" "
				  "  CROSS JOIN LATERAL (SELECT ev.event, ev.payload FROM %s.slo_alert_event ev "
				  "                       WHERE ev.alert_id = a.id AND ev.event IN ('firing', 'escalated') AND ev.notified "
				  "                       ORDER BY ev.id DESC LIMIT 1) e "
				  " WHERE t.enabled AND t.params ? 'repeat_every' AND NOT t.params ? 'digest' "
				  "   AND EXISTS (SELECT 1 FROM %s.slo_delivery d WHERE d.target_id = t.id AND d.alert_id = a.id) "
				  "   AND NOT EXISTS (SELECT 1 FROM %s.slo_delivery d WHERE d.target_id = t.id AND d.alert_id = a.id "
				  "                   AND d.created_at > now() - (t.params ->> 'repeat_every')::interval) "
				  "   AND NOT EXISTS (SELECT 1 FROM %s.slo_silence s WHERE " SLO_SILENCE_ACTIVE
				  "                   AND a.check_name OPERATOR(pg_catalog.~~) s.pattern)",
				  s, s, s, s, s, s, s), SPI_OK_INSERT);

	/* digests: the held events of each target whose digest is due, as one delivery */
	Exec(psprintf("WITH due AS (SELECT t.id, t.params FROM %s.slo_target t "
				  "              WHERE t.digest_next_at <= now() FOR UPDATE SKIP LOCKED), "
				  "held AS (UPDATE %s.slo_delivery d SET state = 'digested', delivered_at = now() "
				  "          FROM due WHERE d.target_id = due.id AND d.state = 'held' "
				  "          RETURNING d.target_id, d.id, d.payload, d.created_at), "
				  "ins AS (INSERT INTO %s.slo_delivery (target_id, kind, event, payload) "
				  "        SELECT h.target_id, 'digest', 'digest', jsonb_build_object("
				  "               'event', 'digest', 'count', count(*), "
				  "               'events', jsonb_path_query_array(jsonb_agg(h.payload ORDER BY h.id), '$[0 to %d]'), "
				  "               'from', min(h.created_at), 'to', now(), 'database', current_database()) "
				  "          FROM held h GROUP BY h.target_id RETURNING id) "
				  "UPDATE %s.slo_target t SET digest_next_at = CASE WHEN due.params ? 'digest_every' "
				  "       THEN now() + (due.params ->> 'digest_every')::interval "
				  "       ELSE (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC' END "
				  "  FROM due WHERE t.id = due.id",
				  s, s, s, SLO_DIGEST_MAX_EVENTS - 1, s), SPI_OK_UPDATE);

	Exec(psprintf("DELETE FROM %s.slo_delivery WHERE id = ANY (ARRAY("
				  "SELECT id FROM %s.slo_delivery WHERE created_at < now() - make_interval(secs => %d) "
				  "AND state IN ('delivered', 'dead', 'digested') ORDER BY created_at LIMIT %d))",
				  s, s, slo_alert_retention_s, SLO_DELIVERY_TRIM), SPI_OK_DELETE);
}

/* Claim due deliveries (marked sending, with a lease); copies them into cxt. */
static int
Claim(const SloExtension *ext, MemoryContext cxt, SloSend **sends_out)
{
	const char *s = ext->nspname;
	int			lease_s = (slo_delivery_timeout_ms / 1000) * 3 + 60;
	SloSend    *sends;
	int			n;

	Exec(psprintf("WITH c AS (SELECT d.id FROM %s.slo_delivery d "
				  "            WHERE d.state = 'queued' AND d.next_attempt_at <= now() "
				  "            ORDER BY d.next_attempt_at, d.id LIMIT %d FOR UPDATE SKIP LOCKED), "
				  "u AS (UPDATE %s.slo_delivery d SET state = 'sending', "
				  "             lease_until = now() + make_interval(secs => %d + coalesce((t.params ->> 'timeout_ms')::float8 / 1000, 0)) "
				  "        FROM c, %s.slo_target t WHERE d.id = c.id AND t.id = d.target_id "
				  "      RETURNING d.id, d.target_id, d.kind, d.payload, d.attempts, d.alert_id) "
				  "SELECT u.id, u.target_id, t.kind, sec.url, "
				  "       (SELECT string_agg(h.key || ': ' || h.value, E'\\n') FROM jsonb_each_text(sec.secrets -> 'headers') h), "
				  "       sec.secrets ->> 'user', sec.secrets ->> 'password', t.params ->> 'from', "
				  "       (SELECT string_agg(x, E'\\n') FROM jsonb_array_elements_text(t.params -> 'to') x), "
				  "       coalesce((t.params ->> 'rate_per_minute')::float8, "
				  "                CASE t.kind WHEN 'slack' THEN 60 WHEN 'pagerduty' THEN 120 ELSE 0 END), "
				  "       u.attempts, coalesce((t.params ->> 'timeout_ms')::float8, %d), "
				  "       %s.slo_delivery_body(u.id, u.kind, u.payload, t.kind, t.name, t.params, "
				  "                            sec.secrets ->> 'routing_key', a.detected_at) "
				  "  FROM u JOIN %s.slo_target t ON t.id = u.target_id "
				  "  LEFT JOIN %s.slo_target_secret sec ON sec.target_id = t.id "
				  "  LEFT JOIN %s.slo_alert a ON a.id = u.alert_id "
				  " ORDER BY u.id",
				  s, SLO_SEND_BATCH, s, lease_s, s, slo_delivery_timeout_ms, s, s, s, s),
		 SPI_OK_SELECT);
	n = (int) SPI_processed;
	sends = MemoryContextAllocZero(cxt, sizeof(SloSend) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SloSend    *x = &sends[i];
		bool		isnull;

		x->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		x->target_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		x->tkind = CopyValue(cxt, tup, desc, 3);
		x->url = CopyValue(cxt, tup, desc, 4);
		x->headers = CopyValue(cxt, tup, desc, 5);
		x->user = CopyValue(cxt, tup, desc, 6);
		x->password = CopyValue(cxt, tup, desc, 7);
		x->from = CopyValue(cxt, tup, desc, 8);
		x->rcpt = CopyValue(cxt, tup, desc, 9);
		x->rate = DatumGetFloat8(SPI_getbinval(tup, desc, 10, &isnull));
		x->attempts = DatumGetInt32(SPI_getbinval(tup, desc, 11, &isnull));
		x->timeout_ms = (long) DatumGetFloat8(SPI_getbinval(tup, desc, 12, &isnull));
		x->body = CopyValue(cxt, tup, desc, 13);
		x->body_len = x->body ? strlen(x->body) : 0;
		x->status = -1;
	}
	*sends_out = sends;
	return n;
}

/*
 * ms until the earliest queued delivery is due, or the next housekeeping
 * (repeats and digests fall due there).  A delivery queued meanwhile wakes
 * the worker at its commit.
 */
static long
NextDueMs(const SloExtension *ext)
{
	long		ms = Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), housekeeping_at));

	Exec(psprintf("SELECT greatest(0, ceil(extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000))::int8 "
				  "  FROM %s.slo_delivery WHERE state = 'queued'", ext->nspname), SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			ms = Min(ms, (long) DatumGetInt64(d));
	}
	return Max(ms, 0);
}

/* Pace: may target send now?  If not, when (*when). */
static bool
PaceAllows(SloSend *x, TimestampTz now, TimestampTz *when)
{
	SloPace    *p = NULL;
	long		spacing_ms;

	if (x->rate <= 0)
		return true;
	spacing_ms = (long) (60000.0 / x->rate);
	for (int i = 0; i < npaces; i++)
		if (paces[i].target_id == x->target_id)
			p = &paces[i];
	if (p == NULL)
	{
		if (npaces == maxpaces)
		{
			maxpaces = Max(16, maxpaces * 2);
			paces = paces ? repalloc(paces, sizeof(SloPace) * maxpaces) :
				MemoryContextAlloc(TopMemoryContext, sizeof(SloPace) * maxpaces);
		}
		p = &paces[npaces++];
		p->target_id = x->target_id;
		p->next_free = 0;
		p->deferred = 0;
	}
	if (p->next_free > now)
	{
		/* the k-th deferred request of this round waits k - 1 more spacings */
		*when = TimestampTzPlusMilliseconds(p->next_free, spacing_ms * p->deferred);
		p->deferred++;
		return false;
	}
	p->next_free = TimestampTzPlusMilliseconds(now, spacing_ms);
	return true;
}

static size_t
DiscardBody(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return size * nmemb;
}

static size_t
ReadBody(char *buf, size_t size, size_t nitems, void *userdata)
{
	SloSend    *x = (SloSend *) userdata;
	size_t		n = Min(size * nitems, x->body_len - x->body_off);

	memcpy(buf, x->body + x->body_off, n);
	x->body_off += n;
	return n;
}

/* Stop a transfer when the worker is told to stop. */
static int
Progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	return (ProcDiePending || ShutdownRequestPending) ? 1 : 0;
}

#define SETOPT(h, opt, val) \
	do { \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) \
			elog(ERROR, "slo_guard: curl_easy_setopt(%s) failed", #opt); \
	} while (0)

/* Outcome of a retryable failure: queued with backoff, or dead when out of attempts. */
static void
Retry(SloSend *x, const char *error, double retry_after)
{
	double		delay;

	x->error = pstrdup(error);
	x->inc = 1;
	if (x->attempts + 1 >= slo_delivery_max_attempts)
	{
		x->state = "dead";
		x->error = psprintf("%s (gave up after %d attempts)", error, x->attempts + 1);
		return;
	}
	if (retry_after > 0)
		delay = Min(retry_after, (double) slo_delivery_retry_max_s);
	else
	{
		delay = Min(ldexp(1.0, Min(x->attempts, 30)), (double) slo_delivery_retry_max_s);
		delay *= 0.75 + 0.5 * pg_prng_double(&pg_global_prng_state);
	}
	x->state = "queued";
	x->delay_s = delay;
}

/* Set up one transfer. */
static void
StartTransfer(SloSend *x)
{
	bool		mail = strcmp(x->tkind, "email") == 0;
	CURL	   *h = curl_easy_init();
	char	   *why = NULL;

	if (h == NULL)
		elog(ERROR, "slo_guard: curl_easy_init failed");
	x->h = h;
	SloCurlPrepare(h, x->url, mail ? "smtp,smtps" : "http,https", x->timeout_ms, x->errbuf);
	(void) why;
	SETOPT(h, CURLOPT_PRIVATE, (void *) x);
	SETOPT(h, CURLOPT_NOPROGRESS, 0L);
	SETOPT(h, CURLOPT_XFERINFOFUNCTION, Progress);
	if (mail)
	{
		char	   *save = NULL;
		char	   *rc = pstrdup(x->rcpt ? x->rcpt : "");

		for (char *a = strtok_r(rc, "\n", &save); a; a = strtok_r(NULL, "\n", &save))
			x->rcpts = curl_slist_append(x->rcpts, psprintf("<%s>", a));
		SETOPT(h, CURLOPT_MAIL_FROM, psprintf("<%s>", x->from ? x->from : ""));
		SETOPT(h, CURLOPT_MAIL_RCPT, x->rcpts);
		SETOPT(h, CURLOPT_UPLOAD, 1L);
		SETOPT(h, CURLOPT_READFUNCTION, ReadBody);
		SETOPT(h, CURLOPT_READDATA, (void *) x);
		SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) x->body_len);
		SETOPT(h, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
		if (x->user)
			SETOPT(h, CURLOPT_USERNAME, x->user);
		if (x->password)
			SETOPT(h, CURLOPT_PASSWORD, x->password);
	}
	else
	{
		char	   *url = x->url;

		if (strcmp(x->tkind, "alertmanager") == 0)
		{
			size_t		len = strlen(url);

			url = psprintf("%s%s", url, (len > 0 && url[len - 1] == '/') ? "api/v2/alerts" : "/api/v2/alerts");
			SETOPT(h, CURLOPT_URL, url);
		}
		x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json");
		x->hdrs = curl_slist_append(x->hdrs, psprintf("Idempotency-Key: " INT64_FORMAT, x->id));
		x->hdrs = curl_slist_append(x->hdrs, "Expect:");
		if (x->headers)
		{
			char	   *save = NULL;
			char	   *hs = pstrdup(x->headers);

			for (char *l = strtok_r(hs, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				x->hdrs = curl_slist_append(x->hdrs, l);
		}
		SETOPT(h, CURLOPT_HTTPHEADER, x->hdrs);
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) x->body_len);
		SETOPT(h, CURLOPT_WRITEFUNCTION, DiscardBody);
	}
	if (curl_multi_add_handle(multi, h) != CURLM_OK)
		elog(ERROR, "slo_guard: curl_multi_add_handle failed");
}

/* Judge a finished transfer. */
static void
FinishTransfer(SloSend *x, CURLcode rc)
{
	long		code = 0;
	bool		mail = strcmp(x->tkind, "email") == 0;

	(void) curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (code > 0)
		x->status = (int) code;
	if (rc != CURLE_OK)
	{
		const char *why = SloCurlFailure(x->h, rc, x->errbuf);

		if (mail && code >= 500 && code < 600)
		{
			x->state = "dead";
			x->inc = 1;
			x->error = psprintf("SMTP %ld from %s: %s", code, SloUrlOrigin(x->url), why);
		}
		else
			Retry(x, psprintf("%s (%s)", why, SloUrlOrigin(x->url)), 0);
		return;
	}
	if (mail || (code >= 200 && code < 300))
	{
		x->state = "delivered";
		x->inc = 1;
		return;
	}
	if (code == 429 || code >= 500)
	{
		curl_off_t	ra = 0;

		if (code != 429 || curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
			ra = 0;
		Retry(x, psprintf("HTTP %ld from %s", code, SloUrlOrigin(x->url)), (double) ra);
		return;
	}
	x->state = "dead";
	x->inc = 1;
	x->error = psprintf("HTTP %ld from %s%s", code, SloUrlOrigin(x->url),
						(code >= 300 && code < 400) ? " (redirects are not followed)" : " (not retried)");
}

static void
CleanupTransfer(SloSend *x)
{
	if (x->h)
	{
		curl_multi_remove_handle(multi, x->h);
		curl_easy_cleanup(x->h);
		x->h = NULL;
	}
	if (x->hdrs)
		curl_slist_free_all(x->hdrs);
	if (x->rcpts)
		curl_slist_free_all(x->rcpts);
	x->hdrs = x->rcpts = NULL;
}

/*
 * Send the deliveries in sends (those not deferred by pace) through the
 * multi handle, SLO_SEND_CONCURRENCY at a time.  No transaction is open.
 * Returns false if the worker was told to stop (outcomes then not written:
 * the rows stay sending and are queued again when the worker starts).
 */
static bool
SendAll(SloSend **todo, int n)
{
	volatile int next = 0;
	volatile int active = 0;
	volatile bool stopped = false;

	PG_TRY();
	{
		while (next < n || active > 0)
		{
			int			running;
			CURLMsg    *msg;
			int			left;

			while (next < n && active < SLO_SEND_CONCURRENCY)
			{
				StartTransfer(todo[next++]);
				active++;
			}
			if (curl_multi_perform(multi, &running) != CURLM_OK)
				elog(ERROR, "slo_guard: curl_multi_perform failed");
			while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			{
				SloSend    *x = NULL;

				if (msg->msg != CURLMSG_DONE)
					continue;
				(void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
				FinishTransfer(x, msg->data.result);
				CleanupTransfer(x);
				active--;
			}
			if (ProcDiePending || ShutdownRequestPending)
			{
				stopped = true;
				break;
			}
			if (active > 0 && curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK)
				elog(ERROR, "slo_guard: curl_multi_poll failed");
		}
	}
	PG_CATCH();
	{
		for (int i = 0; i < next; i++)
			CleanupTransfer(todo[i]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	for (int i = 0; i < next; i++)
		CleanupTransfer(todo[i]);
	return !stopped;
}

/* Write the outcomes of a round in one statement. */
static void
WriteOutcomes(const SloExtension *ext, SloSend *sends, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *states = palloc(sizeof(Datum) * n);
	Datum	   *incs = palloc(sizeof(Datum) * n);
	Datum	   *delays = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	bool	   *errnulls = palloc(sizeof(bool) * n);
	bool	   *stnulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[6] = {INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		values[6];

	for (int i = 0; i < n; i++)
	{
		SloSend    *x = &sends[i];

		ids[i] = Int64GetDatum(x->id);
		states[i] = CStringGetTextDatum(x->state ? x->state : "queued");
		incs[i] = Int32GetDatum(x->inc);
		delays[i] = Float8GetDatum(x->delay_s);
		errnulls[i] = (x->error == NULL);
		errors[i] = x->error ? CStringGetTextDatum(SloClipText(x->error, 500)) : (Datum) 0;
		stnulls[i] = (x->status < 0);
		statuses[i] = Int32GetDatum(x->status);
	}
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(states, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(incs, n, INT4OID, 4, true, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(delays, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_md_array(errors, errnulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_md_array(statuses, stnulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));

	if (SPI_execute_with_args(psprintf("UPDATE %s.slo_delivery d SET state = o.state, attempts = d.attempts + o.inc, "
									   "lease_until = NULL, "
									   "next_attempt_at = CASE WHEN o.state = 'queued' THEN now() + make_interval(secs => o.delay) ELSE d.next_attempt_at END, "
									   "last_error = coalesce(o.error, d.last_error), "
									   "last_status = CASE WHEN o.inc > 0 THEN o.status ELSE d.last_status END, "
									   "delivered_at = CASE WHEN o.state = 'delivered' THEN now() END "
									   "FROM unnest($1, $2, $3, $4, $5, $6) o(id, state, inc, delay, error, status) "
									   "WHERE d.id = o.id AND d.state = 'sending'", ext->nspname),
							  6, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not record delivery outcomes");
}

long
SloDeliveryJob(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	SloExtension ext;
	SloBookkeeping bk;
	SloSend    *sends = NULL;
	SloSend   **todo;
	int			n;
	int			ntodo = 0;
	long		next_ms;
	TimestampTz now;

	if (!slo_enabled || RecoveryInProgress())
		return slo_naptime_ms;

	/*
	 * The scheduler runs this job whenever its latch is set (deliveries
	 * queued elsewhere set it at commit; so may other things): after a round
	 * that found nothing, look again no sooner than SLO_IDLE_GAP_MS.
	 */
	now = GetCurrentTimestamp();
	if (idle_round_at != 0 && !TimestampDifferenceExceeds(idle_round_at, now, SLO_IDLE_GAP_MS))
		return Max(1, SLO_IDLE_GAP_MS - TimestampDifferenceMilliseconds(idle_round_at, now));

	if (!BeginXact(&ext, &bk))
	{
		MemoryContextSwitchTo(cxt);
		return slo_naptime_ms;
	}
	if (GetCurrentTimestamp() >= housekeeping_at)
	{
		Housekeeping(&ext);
		housekeeping_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SLO_HOUSEKEEPING_MS);
	}
	n = Claim(&ext, cxt, &sends);
	next_ms = n > 0 ? 0 : NextDueMs(&ext);
	EndXact(&bk, cxt);
	idle_round_at = (n == 0) ? GetCurrentTimestamp() : 0;
	if (n == 0)
		return Max(next_ms, 1);

	/* pace: what a target may not send yet is queued again for its turn */
	todo = palloc(sizeof(SloSend *) * n);
	now = GetCurrentTimestamp();
	for (int i = 0; i < npaces; i++)
		paces[i].deferred = 0;
	for (int i = 0; i < n; i++)
	{
		TimestampTz when;

		if (PaceAllows(&sends[i], now, &when))
			todo[ntodo++] = &sends[i];
		else
		{
			sends[i].state = "queued";
			sends[i].inc = 0;
			sends[i].delay_s = (double) (when - now) / 1000000.0;
		}
	}

	if (ntodo > 0)
	{
		SloCurlGlobalInit();
		if (multi == NULL && (multi = curl_multi_init()) == NULL)
			elog(ERROR, "slo_guard: curl_multi_init failed");
		pgstat_report_activity(STATE_RUNNING, "slo_guard: sending deliveries");
		if (!SendAll(todo, ntodo))
		{
			CHECK_FOR_INTERRUPTS();
			return 0;
		}
	}

	if (!BeginXact(&ext, &bk))
	{
		MemoryContextSwitchTo(cxt);
		return slo_naptime_ms;
	}
	WriteOutcomes(&ext, sends, n);
	EndXact(&bk, cxt);
	return 0;
}
