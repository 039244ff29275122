/*
 * fault_latency: time from a fault to slo_guard's NOTIFY, as a listener sees it.
 *
 *   fault_latency CONNINFO FAULTS BREAK_SQL REPAIR_SQL CHECK_NAME [CHANNEL]
 *
 * One connection LISTENs on CHANNEL (default slo_guard).  For each of FAULTS
 * rounds: run REPAIR_SQL and wait for CHECK_NAME's alert to be resolved (or
 * for it to be quiet, the first time), sleep a random 0-999 ms (so the
 * fault falls anywhere in the check's schedule), then run BREAK_SQL (autocommit: the
 * fault is committed when PQexec returns), take the time, and wait for the
 * "firing" notification of CHECK_NAME; the latency is the time between the
 * two on this client's monotonic clock.  Prints one line per fault and a
 * summary line:
 *   RESULT faults=N median_ms=X p95_ms=Y max_ms=Z
 * Gives up on a round after 30 s (counted as a timeout; exit status 1).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "fault_latency: %s: %s", sql, PQerrorMessage(conn));
		exit(2);
	}
	PQclear(res);
}

/*
 * Wait up to timeout_ms for a notification whose payload names the check and
 * the event ("event":"firing").  Returns the arrival time, or -1 on timeout.
 */
static double
wait_event(PGconn *conn, const char *check, const char *event, double timeout_ms)
{
	char		want_check[512];
	char		want_event[64];
	double		deadline = now_ms() + timeout_ms;

	snprintf(want_check, sizeof(want_check), "\"check\":\"%s\"", check);
	snprintf(want_event, sizeof(want_event), "\"event\":\"%s\"", event);
	for (;;)
	{
		PGnotify   *n;
		struct pollfd pfd;
		double		left;

		if (!PQconsumeInput(conn))
		{
			fprintf(stderr, "fault_latency: %s", PQerrorMessage(conn));
			exit(2);
		}
		while ((n = PQnotifies(conn)) != NULL)
		{
			int			hit = strstr(n->extra, want_check) != NULL &&
				strstr(n->extra, want_event) != NULL;
			double		t = now_ms();

			PQfreemem(n);
			if (hit)
				return t;
		}
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int) (left < 50 ? left : 50)) < 0 && errno != EINTR)
		{
			perror("poll");
			exit(2);
		}
	}
}

static void
quiet(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	PGconn	   *listen_conn,
			   *fault_conn;
	int			faults;
	const char *channel;
	char		sql[256];
	double	   *lat;
	int			got = 0,
				timeouts = 0;

	if (argc < 6)
	{
		fprintf(stderr, "usage: fault_latency CONNINFO FAULTS BREAK_SQL REPAIR_SQL CHECK_NAME [CHANNEL]\n");
		return 2;
	}
	faults = atoi(argv[2]);
	channel = argc > 6 ? argv[6] : "slo_guard";
	listen_conn = PQconnectdb(argv[1]);
	fault_conn = PQconnectdb(argv[1]);
	if (PQstatus(listen_conn) != CONNECTION_OK || PQstatus(fault_conn) != CONNECTION_OK)
	{
		fprintf(stderr, "fault_latency: could not connect: %s", PQerrorMessage(listen_conn));
		return 2;
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	exec_ok(listen_conn, sql);
	PQsetNoticeProcessor(fault_conn, quiet, NULL);
	srand(42);
	lat = calloc(faults > 0 ? faults : 1, sizeof(double));

	for (int i = 0; i < faults; i++)
	{
		double		t0,
					t1;

		exec_ok(fault_conn, argv[4]);	/* repair */
		/* resolved (or nothing open: the first round) */
		(void) wait_event(listen_conn, argv[5], "resolved", i == 0 ? 3000 : 30000);
		/* a random phase against the check's schedule (fixed seed: repeatable) */
		{
			struct timespec ts = {0, (long) (rand() % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		exec_ok(fault_conn, argv[3]);	/* break, committed on return */
		t0 = now_ms();
		t1 = wait_event(listen_conn, argv[5], "firing", 30000);
		if (t1 < 0)
		{
			printf("fault %d: no firing NOTIFY within 30 s\n", i + 1);
			timeouts++;
			continue;
		}
		lat[got++] = t1 - t0;
		printf("fault %d: %.1f ms\n", i + 1, t1 - t0);
		fflush(stdout);
	}
	exec_ok(fault_conn, argv[4]);
	qsort(lat, got, sizeof(double), cmp_double);
	if (got > 0)
	{
		int			p95 = (int) (0.95 * (got - 1) + 0.5);

		printf("RESULT faults=%d timeouts=%d median_ms=%.1f p95_ms=%.1f max_ms=%.1f\n",
			   got, timeouts,
			   got % 2 ? lat[got / 2] : (lat[got / 2 - 1] + lat[got / 2]) / 2,
			   lat[p95], lat[got - 1]);
	}
	else
		printf("RESULT faults=0 timeouts=%d\n", timeouts);
	PQfinish(listen_conn);
	PQfinish(fault_conn);
	return timeouts > 0 ? 1 : 0;
}
