/*-------------------------------------------------------------------------
 * net.c
 *	  Where slo_guard decides which hosts it may talk to, and how every
 *	  libcurl transfer (http probes, alert delivery) is set up.
 *
 *	  slo_guard.allowed_hosts is a comma-separated list of host names (matched
 *	  case-insensitively and exactly), IP addresses and CIDR ranges (v4 and
 *	  v6); '' allows nothing, '*' anything.  A URL is checked when it is added
 *	  (SloUrlAllowed) and again at connect time: the open-socket callback set
 *	  by SloCurlPrepare lets a connection through when the URL's host is
 *	  allowed by name under the current setting, or when the address being
 *	  connected to lies in an allowed range; any other address is refused.
 *	  Redirects are never followed, proxies never used, so the host connected
 *	  to is always the URL's.
 *
 *	  The callback runs inside libcurl: it does no palloc and raises no error.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "net.h"

char	   *slo_allowed_hosts = NULL;

#define SLO_HOST_MAX 256		/* longest host name or range item we parse */

/* One parsed CIDR range. */
typedef struct SloCidr
{
	int			family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int			bits;
} SloCidr;

/* Parse "a.b.c.d[/n]" or "v6[/n]" (brackets allowed around v6); false if not an address. */
static bool
ParseCidr(const char *item, SloCidr *c)
{
	char		buf[SLO_HOST_MAX];
	char	   *slash;
	char	   *a = buf;
	size_t		len = strlen(item);
	int			maxbits;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, item, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (a[0] == '[')
	{
		size_t		l = strlen(a);

		if (l < 3 || a[l - 1] != ']')
			return false;
		a[l - 1] = '\0';
		a++;
	}
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, a, c->addr) == 1)
	{
		c->family = AF_INET;
		maxbits = 32;
	}
	else if (inet_pton(AF_INET6, a, c->addr) == 1)
	{
		c->family = AF_INET6;
		maxbits = 128;
	}
	else
		return false;
	c->bits = maxbits;
	if (slash)
	{
		char	   *end;
		long		n;

		if (*slash == '\0')
			return false;
		errno = 0;
		n = strtol(slash, &end, 10);
		if (errno != 0 || *end != '\0' || n < 0 || n > maxbits)
			return false;
		c->bits = (int) n;
	}
	return true;
}

/* Does the address (family, 4 or 16 bytes) lie in range c? */
static bool
CidrContains(const SloCidr *c, int family, const unsigned char *addr)
{
	int			full,
				rest;

	if (c->family != family)
		return false;
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest)
	{
		unsigned char mask = (unsigned char) (0xFF << (8 - rest));

		if ((c->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

/* A plausible host name: letters, digits, '-', '_', '.', at most 253 bytes. */
static bool
ValidHostName(const char *s)
{
	size_t		len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/*
 * Walk the items of list (comma-separated, blanks around items ignored),
 * calling fn for each with its text; stops early when fn returns true.
 * Returns whether fn returned true; *bad is set when an item is too long.
 */
typedef bool (*SloItemFn) (const char *item, void *arg);

static bool
ForEachItem(const char *list, SloItemFn fn, void *arg, bool *bad)
{
	const char *p = list ? list : "";

	if (bad)
		*bad = false;
	while (*p)
	{
		const char *start,
				   *end;
		char		item[SLO_HOST_MAX];
		size_t		len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = end - start;
		if (len >= sizeof(item))
		{
			if (bad)
				*bad = true;
			continue;
		}
		memcpy(item, start, len);
		item[len] = '\0';
		if (fn(item, arg))
			return true;
	}
	return false;
}

/* GUC check: every item is '*', a host name, an address or a CIDR range. */
typedef struct CheckArg
{
	char		bad[64];
} CheckArg;

static bool
CheckItem(const char *item, void *arg)
{
	CheckArg   *ca = (CheckArg *) arg;
	SloCidr		c;

	if (strcmp(item, "*") == 0 || ParseCidr(item, &c))
		return false;
	if (strchr(item, '/') == NULL && strchr(item, ':') == NULL && ValidHostName(item))
		return false;
	strlcpy(ca->bad, item, sizeof(ca->bad));
	return true;
}

bool
SloAllowedHostsCheck(char **newval, void **extra, GucSource source)
{
	CheckArg	ca;
	bool		toolong;

	ca.bad[0] = '\0';
	if (ForEachItem(*newval, CheckItem, &ca, &toolong))
	{
		GUC_check_errdetail("\"%s\" is not a host name, an IP address or a CIDR range.", ca.bad);
		GUC_check_errhint("Give host names or ranges such as 10.0.0.0/8 or ::1/128, separated by commas; '*' allows any host.");
		return false;
	}
	if (toolong)
	{
		GUC_check_errdetail("An item is longer than %d bytes.", SLO_HOST_MAX - 1);
		return false;
	}
	return true;
}

/* Matching a host name (or '*') against the list. */
static bool
NameItemMatches(const char *item, void *arg)
{
	const char *host = (const char *) arg;

	if (strcmp(item, "*") == 0)
		return true;
	return pg_strcasecmp(item, host) == 0;
}

/* Matching an address against the list ('*' or a range that holds it). */
typedef struct AddrArg
{
	int			family;
	unsigned char addr[16];
} AddrArg;

static bool
AddrItemMatches(const char *item, void *arg)
{
	AddrArg    *aa = (AddrArg *) arg;
	SloCidr		c;

	if (strcmp(item, "*") == 0)
		return true;
	if (!ParseCidr(item, &c))
		return false;
	if (CidrContains(&c, aa->family, aa->addr))
		return true;
	/* an IPv4-mapped IPv6 address is judged by the v4 ranges too */
	if (aa->family == AF_INET6 && c.family == AF_INET)
	{
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

		if (memcmp(aa->addr, mapped, 12) == 0)
			return CidrContains(&c, AF_INET, aa->addr + 12);
	}
	return false;
}

/*
 * Is host (as libcurl gives it: a name, a v4 literal, or a v6 literal in
 * brackets) allowed under the current setting?  *literal tells which rule
 * applied.
 */
static bool
HostAllowed(const char *host, bool *literal)
{
	SloCidr		c;

	*literal = false;
	if (ParseCidr(host, &c) && strchr(host, '/') == NULL)
	{
		AddrArg		aa;

		*literal = true;
		aa.family = c.family;
		memcpy(aa.addr, c.addr, sizeof(aa.addr));
		return ForEachItem(slo_allowed_hosts, AddrItemMatches, &aa, NULL);
	}
	return ForEachItem(slo_allowed_hosts, NameItemMatches, (void *) host, NULL);
}

/* Matching a scheme against a comma-separated list of schemes. */
static bool
SchemeItemMatches(const char *item, void *arg)
{
	return pg_strcasecmp(item, (const char *) arg) == 0;
}

/* Is scheme one of the comma-separated schemes? */
static bool
SchemeListed(const char *scheme, const char *schemes)
{
	return ForEachItem(schemes, SchemeItemMatches, (void *) scheme, NULL);
}

/* The host of url, malloc'd by libcurl (curl_free), or NULL; *scheme likewise. */
static bool
SplitUrl(const char *url, char **scheme, char **host, char **port)
{
	CURLU	   *u = curl_url();
	bool		ok = false;

	*scheme = *host = NULL;
	if (port)
		*port = NULL;
	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
		*host != NULL && (*host)[0] != '\0')
	{
		ok = true;
		if (port && curl_url_get(u, CURLUPART_PORT, port, 0) != CURLUE_OK)
			*port = NULL;
	}
	if (!ok)
	{
		if (*scheme)
			curl_free(*scheme);
		if (*host)
			curl_free(*host);
		*scheme = *host = NULL;
	}
	curl_url_cleanup(u);
	return ok;
}

bool
SloUrlAllowed(const char *url, const char *schemes, char **why)
{
	char	   *scheme,
			   *host;
	bool		literal;
	bool		ok = false;

	*why = NULL;
	if (url == NULL || strlen(url) > 2048)
	{
		*why = pstrdup("the url is empty or longer than 2048 bytes");
		return false;
	}
	SloCurlGlobalInit();
	if (!SplitUrl(url, &scheme, &host, NULL))
	{
		*why = pstrdup("the url is not a valid absolute URL with a host");
		return false;
	}
	if (!SchemeListed(scheme, schemes))
		*why = psprintf("scheme \"%.20s\" is not one of %s", scheme, schemes);
	else if (!HostAllowed(host, &literal))
		*why = psprintf("host \"%.100s\" is not allowed by slo_guard.allowed_hosts", host);
	else
		ok = true;
	curl_free(scheme);
	curl_free(host);
	return ok;
}

char *
SloUrlOrigin(const char *url)
{
	char	   *scheme,
			   *host,
			   *port;
	char	   *res;

	SloCurlGlobalInit();
	if (url == NULL || !SplitUrl(url, &scheme, &host, &port))
		return pstrdup("(invalid url)");
	res = psprintf("%.20s://%.200s%s%.10s", scheme, host, port ? ":" : "", port ? port : "");
	curl_free(scheme);
	curl_free(host);
	if (port)
		curl_free(port);
	return res;
}

/*
 * Connections refused by the open-socket callback, so SloCurlFailure can say
 * which address was refused: a small ring keyed by the easy handle.
 */
#define SLO_REFUSED_RING 64
typedef struct SloRefused
{
	CURL	   *h;
	char		addr[INET6_ADDRSTRLEN];
} SloRefused;

static SloRefused refused[SLO_REFUSED_RING];
static int	refused_next = 0;

static SloRefused *
FindRefused(CURL *h)
{
	for (int i = 0; i < SLO_REFUSED_RING; i++)
		if (refused[i].h == h && h != NULL)
			return &refused[i];
	return NULL;
}

/* The open-socket callback: clientp is the easy handle. */
static curl_socket_t
OpenSocketChecked(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	CURL	   *h = (CURL *) clientp;
	char	   *url = NULL;
	char	   *scheme,
			   *host;
	bool		literal = false;
	bool		by_name = false;
	AddrArg		aa;

	/* is the URL's host (not a literal) allowed by name right now? */
	if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url &&
		SplitUrl(url, &scheme, &host, NULL))
	{
		by_name = HostAllowed(host, &literal) && !literal;
		curl_free(scheme);
		curl_free(host);
	}
	memset(&aa, 0, sizeof(aa));
	if (address->family == AF_INET &&
		address->addrlen >= sizeof(struct sockaddr_in))
	{
		aa.family = AF_INET;
		memcpy(aa.addr, &((struct sockaddr_in *) &address->addr)->sin_addr, 4);
	}
	else if (address->family == AF_INET6 &&
			 address->addrlen >= sizeof(struct sockaddr_in6))
	{
		aa.family = AF_INET6;
		memcpy(aa.addr, &((struct sockaddr_in6 *) &address->addr)->sin6_addr, 16);
	}
	if (by_name ||
		(aa.family != 0 && ForEachItem(slo_allowed_hosts, AddrItemMatches, &aa, NULL)))
		return socket(address->family, address->socktype, address->protocol);

	/* refused: remember the address for SloCurlFailure */
	{
		SloRefused *r = FindRefused(h);

		if (r == NULL)
		{
			r = &refused[refused_next];
			refused_next = (refused_next + 1) % SLO_REFUSED_RING;
		}
		r->h = h;
		if (aa.family == 0 ||
			inet_ntop(aa.family, aa.addr, r->addr, sizeof(r->addr)) == NULL)
			strlcpy(r->addr, "(unknown family)", sizeof(r->addr));
	}
	return CURL_SOCKET_BAD;
}

void
SloCurlGlobalInit(void)
{
	static bool done = false;

	if (!done)
	{
		if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialize libcurl")));
		done = true;
	}
}

/* Set one option; libcurl refusing it is a bug or out of memory. */
#define SLO_CURL_SETOPT(h, opt, val) \
	do { \
		CURLcode	rc_ = curl_easy_setopt((h), (opt), (val)); \
		if (rc_ != CURLE_OK) \
			ereport(ERROR, \
					(errcode(ERRCODE_SYSTEM_ERROR), \
					 errmsg("could not set libcurl option %s: %s", #opt, curl_easy_strerror(rc_)))); \
	} while (0)

void
SloCurlPrepare(CURL *h, const char *url, const char *schemes, long timeout_ms, char *errbuf)
{
	SloRefused *r;

	SloCurlGlobalInit();
	r = FindRefused(h);
	if (r)
		r->h = NULL;
	if (errbuf)
	{
		errbuf[0] = '\0';
		SLO_CURL_SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	}
	if (timeout_ms <= 0)
		timeout_ms = 1;
	SLO_CURL_SETOPT(h, CURLOPT_URL, url);
	SLO_CURL_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SLO_CURL_SETOPT(h, CURLOPT_PROTOCOLS_STR, schemes);
	SLO_CURL_SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, schemes);
	SLO_CURL_SETOPT(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	SLO_CURL_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SLO_CURL_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SLO_CURL_SETOPT(h, CURLOPT_PROXY, "");
	SLO_CURL_SETOPT(h, CURLOPT_NETRC, (long) CURL_NETRC_IGNORED);
	SLO_CURL_SETOPT(h, CURLOPT_USERAGENT, "slo_guard/" "1.2");
	SLO_CURL_SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, OpenSocketChecked);
	SLO_CURL_SETOPT(h, CURLOPT_OPENSOCKETDATA, (void *) h);
}

const char *
SloCurlFailure(CURL *h, CURLcode rc, const char *errbuf)
{
	static char msg[256];
	SloRefused *r = FindRefused(h);

	if (r != NULL)
	{
		snprintf(msg, sizeof(msg),
				 "connection to %s refused: the address is not allowed by slo_guard.allowed_hosts",
				 r->addr);
		r->h = NULL;
		return msg;
	}
	/*
	 * libcurl's own message names the host and the failure; it is used unless
	 * it could carry more of the URL than the host.
	 */
	if (errbuf && errbuf[0] != '\0' && strstr(errbuf, "://") == NULL &&
		strchr(errbuf, '?') == NULL && strchr(errbuf, '@') == NULL)
	{
		size_t		n;

		snprintf(msg, sizeof(msg), "curl error %d: %s", (int) rc, errbuf);
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
	}
	else
		snprintf(msg, sizeof(msg), "curl error %d: %s", (int) rc, curl_easy_strerror(rc));
	return msg;
}
