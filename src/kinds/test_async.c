/*-------------------------------------------------------------------------
 * test_async.c
 *	  Check kind "test_async", compiled only into test builds
 *	  (-DSLO_TEST_KINDS; scripts/test.sh sets it): the first user of the
 *	  asynchronous kind interface (start / poll / finish / release) until the
 *	  http kind (issue 11) lands.  Its "work" is a timer: start notes when it
 *	  will be done (after "ms" milliseconds), poll says whether that time has
 *	  come, finish reports the elapsed time as a latency (value_is_latency).
 *	  It touches no network and no database, so any number can be in flight.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef SLO_TEST_KINDS

#include "utils/timestamp.h"

#include "kind.h"

#define KIND_NAME "test_async"

static const SloParam params[] = {
	{"ms", SLO_PARAM_INTEGER, true, 0, 600000},
	{"fail_in_finish", SLO_PARAM_BOOL, false, SLO_NO_RANGE},
	{"timeout", SLO_PARAM_INTERVAL, false, SLO_NO_RANGE},
	SLO_PARAM_END
};

typedef struct TestAsyncState
{
	TimestampTz started;
	TimestampTz done_at;
	bool		fail;
	int			polls;
} TestAsyncState;

static void *
test_async_start(const SloCheck *check, MemoryContext statecxt, SloOutcome *out)
{
	double		ms = 0;
	TestAsyncState *st = MemoryContextAllocZero(statecxt, sizeof(TestAsyncState));

	SloRunParams(check);
	(void) SloParamNumber(check->params, "ms", &ms);
	st->started = GetCurrentTimestamp();
	st->done_at = TimestampTzPlusMilliseconds(st->started, (int64) ms);
	st->fail = SloParamBool(check->params, "fail_in_finish", false);
	if (ms == 0)
	{
		/* an immediate answer: start may set the outcome itself */
		SloOutcomeSet(out, SLO_OK, true, 0, "Done at once (no polling).");
		return NULL;
	}
	return st;
}

static bool
test_async_poll(void *state, long *wait_ms)
{
	TestAsyncState *st = state;
	TimestampTz now = GetCurrentTimestamp();

	st->polls++;
	if (now >= st->done_at)
		return true;
	*wait_ms = (long) ((st->done_at - now) / 1000) + 1;
	return false;
}

static void
test_async_finish(const SloCheck *check, void *state, SloOutcome *out)
{
	TestAsyncState *st = state;
	double		ms = (double) (GetCurrentTimestamp() - st->started) / 1000.0;

	if (st->fail)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_async check \"%s\" failed in finish as asked", check->name),
				 errhint("Set \"fail_in_finish\" to false.")));
	SloOutcomeSet(out, SLO_OK, true, ms, "Done after %.0f ms (%d poll%s).",
				  ms, st->polls, st->polls == 1 ? "" : "s");
	SloOutcomeDetail(out, psprintf("{\"polls\": %d}", st->polls));
}

const SloKind SloKindTestAsync = {
	.name = KIND_NAME,
	.description = "test builds only: an asynchronous check that is done after ms milliseconds; value = elapsed ms",
	.params = params,
	.start = test_async_start,
	.poll = test_async_poll,
	.finish = test_async_finish,
	.timeout_param = "timeout",
	.value_is_latency = true,
};

#else

/* ISO C forbids an empty translation unit. */
extern int	slo_test_async_unused;

#endif							/* SLO_TEST_KINDS */
