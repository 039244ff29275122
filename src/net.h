/*-------------------------------------------------------------------------
 * net.h
 *	  What every slo_guard network transfer shares (http probes and alert
 *	  delivery): the slo_guard.allowed_hosts list, URL checks, and the libcurl
 *	  options every transfer gets (no redirects, limited protocols, timeouts,
 *	  an allowlist check of the address actually connected to).
 *-------------------------------------------------------------------------
 */
#ifndef SLO_NET_H
#define SLO_NET_H

#include <curl/curl.h>

#include "utils/guc.h"

/* slo_guard.allowed_hosts (PGC_SIGHUP): comma-separated host names and CIDR ranges; '' none, '*' any. */
extern char *slo_allowed_hosts;

/* GUC check hook of slo_guard.allowed_hosts (registered in guc.c). */
extern bool SloAllowedHostsCheck(char **newval, void **extra, GucSource source);

/*
 * Is url acceptable to add (scheme among `schemes`, e.g. "http,https" or
 * "smtp,smtps"; host allowed by name or, for an IP literal, by CIDR)?  On
 * false, *why is a short message (host only, never the path, query or
 * userinfo), palloc'd.
 */
extern bool SloUrlAllowed(const char *url, const char *schemes, char **why);

/*
 * Set the options every slo_guard transfer uses on h: url, no redirects,
 * protocols limited to `schemes`, timeouts, CURLOPT_NOSIGNAL, an error buffer
 * (CURL_ERROR_SIZE bytes), no proxy, and an open-socket callback that refuses
 * a resolved address not allowed (checked again at send time against the
 * current slo_guard.allowed_hosts).  Raises an ERROR only if libcurl refuses
 * an option (out of memory, a libcurl too old).
 */
extern void SloCurlPrepare(CURL *h, const char *url, const char *schemes, long timeout_ms, char *errbuf);

/*
 * A short, secret-free text for a failed transfer (curl code, or the refused
 * address).  Returns a static buffer, valid until the next call.
 */
extern const char *SloCurlFailure(CURL *h, CURLcode rc, const char *errbuf);

/* scheme://host[:port] of url, for summaries and errors (never path, query or userinfo); palloc'd. */
extern char *SloUrlOrigin(const char *url);

/* curl_global_init once per process (SloCurlPrepare calls it too; call it before curl_multi_init). */
extern void SloCurlGlobalInit(void);

#endif							/* SLO_NET_H */
