/*-------------------------------------------------------------------------
 * run.c
 *	  Running checks.  One pass:
 *	    1. lock the due checks' state rows (FOR UPDATE SKIP LOCKED), so the
 *	       worker, pg_cron and a hand call never run one check twice at once;
 *	    2. run each check in its own subtransaction, as its owner, with its
 *	       search_path (pg_temp last) and a timeout; an error, a timeout or a
 *	       cancel of the check becomes an `error` result and the pass goes on;
 *	    3. apply each result to the alert state machine (alert.c);
 *	    4. write all results and the new state with one INSERT and one UPDATE.
 *	  Everything lands in the caller's transaction.
 *
 *	  A check is a security boundary: it runs as its owner (often a
 *	  superuser) inside somebody else's session.  So:
 *	    - nothing of a session's temporary namespace stands in for what a
 *	      check reads: pg_temp is searched last, and any query a check
 *	      parses or executes that names a temporary relation is refused;
 *	    - every setting the check changes (session-level set_config()
 *	      included) is rolled back at its end, and the advisory locks it took
 *	      (session- or transaction-level) are released;
 *	    - only a real cancel of the session (SIGINT from a user or
 *	      pg_cancel_backend, the session's statement_timeout, termination)
 *	      ends a pass; an error the check raises, whatever its SQLSTATE, is
 *	      that check's `error`;
 *	    - the timeout is min(the kind's "timeout" param, check_timeout), and
 *	      once it fired the check is cancelled again every 100 ms and recorded
 *	      as timed out even if its code caught the cancel;
 *	    - params are validated again before the runner sees them;
 *	    - a pass never runs inside a pass (slo_run_checks from a check).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "alert.h"
#include "guc.h"
#include "kind.h"
#include "objective.h"		/* issue 13: SloObjectivesRecord */
#include "run.h"

#define SLO_SUMMARY_STORED_MAX 1000

/* Once a check's timeout fired, it is cancelled again this often until it returns. */
#define SLO_RECANCEL_MS 100

/* One check of a pass: definition, previous state, and its new result. */
typedef struct SloRunItem
{
	SloCheck	check;
	const char *kind_name;
	bool		had_status;
	SloStatus	prev_status;
	TimestampTz prev_since;
	TimestampTz prev_next_run;
	double		prev_duration_ms;	/* how long its last run took; < 0 if unknown */
	SloAlertState alert;
	/* result */
	SloOutcome	out;
	TimestampTz at;
	double		duration_ms;
	TimestampTz next_run;
	bool		keep;
	int64		result_id;
	Jsonb	   *detail;			/* the outcome's detail as jsonb, built in the check's subtransaction */
	bool		claimed;		/* its state row is locked by this transaction: store the result */
	/* an asynchronous check between start and finish */
	bool		async_pending;
	void	   *astate;
	MemoryContext astatecxt;
	bool		parked;			/* started and let go: only its lease is written */
} SloRunItem;

/* ---- where this backend is: in a pass, in a check ---- */

static bool pass_running = false;
static int	check_depth = 0;		/* > 0 while a check's code runs */
static const char *running_check = NULL;

/* ---- per-check timeout ---- */

static volatile sig_atomic_t check_timed_out = false;
static TimeoutId check_timeout_id = MAX_TIMEOUTS;

static volatile sig_atomic_t cancel_seen = false;
static TimestampTz check_deadline = 0;

/*
 * SIGALRM-time handler, ticking every SLO_RECANCEL_MS while a check runs (a
 * check of a few milliseconds never sees it): past the check's deadline it
 * cancels the check like statement_timeout does, and keeps cancelling it, so
 * a check whose code catches query_canceled cannot run on.  After a real
 * cancel of the session it cancels the check again as well, so that such a
 * check cannot hold up the user's cancel either.
 */
static void
CheckTimeoutHandler(void)
{
	bool		late = GetCurrentTimestamp() >= check_deadline;

	if (!late && !cancel_seen)
		return;
	if (late)
		check_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

static void
ArmCheckTimeout(int ms)
{
	TimestampTz now = GetCurrentTimestamp();
	int			first = ms % SLO_RECANCEL_MS;

	if (check_timeout_id == MAX_TIMEOUTS)
		check_timeout_id = RegisterTimeout(USER_TIMEOUT, CheckTimeoutHandler);
	check_timed_out = false;
	check_deadline = TimestampTzPlusMilliseconds(now, ms);
	/* ticks fall on the deadline: ms = first + k * SLO_RECANCEL_MS */
	enable_timeout_every(check_timeout_id,
						 TimestampTzPlusMilliseconds(now, first ? first : SLO_RECANCEL_MS),
						 SLO_RECANCEL_MS);
}

static void
DisarmCheckTimeout(void)
{
	if (check_timeout_id != MAX_TIMEOUTS)
		disable_timeout(check_timeout_id, false);
}

/*
 * Nothing the calling session SET changes what a check sees: every setting
 * the session changed with SET or set_config() (source "session") is reset to
 * its session default for the check, at the check's own GUC nest level, so it
 * comes back when the check ends (RESET ALL's rules: settings marked
 * GUC_NO_RESET_ALL, such as role and the transaction settings, are left).
 * Kept too: slo_guard's own settings (check_timeout is read as the caller set
 * it), the caller's cancel timers (statement_timeout, lock_timeout, which
 * stay the session's own business), client_encoding and application_name,
 * which only concern the client.  search_path and exit_on_error are set by
 * the caller of this function.
 */
static void
ResetCallerSettings(void)
{
	struct config_generic **vars;
	int			nvars;
	/* as RESET ALL: going back to the session default is never an escalation */
	GucContext	context = PGC_SUSET;

#if PG_VERSION_NUM >= 170000
	vars = get_guc_variables(&nvars);
#else
	vars = get_guc_variables();
	nvars = GetNumConfigOptions();
#endif
	for (int i = 0; i < nvars; i++)
	{
		struct config_generic *g = vars[i];

		if (g->source != PGC_S_SESSION || (g->flags & GUC_NO_RESET_ALL) ||
			(g->context != PGC_USERSET && g->context != PGC_SUSET))
			continue;
		if (strncmp(g->name, "slo_guard.", 10) == 0 ||
			strcmp(g->name, "search_path") == 0 ||
			strcmp(g->name, "exit_on_error") == 0 ||
			strcmp(g->name, "statement_timeout") == 0 ||
			strcmp(g->name, "lock_timeout") == 0 ||
			strcmp(g->name, "idle_in_transaction_session_timeout") == 0 ||
			strcmp(g->name, "client_encoding") == 0 ||
			strcmp(g->name, "application_name") == 0)
			continue;
		(void) set_config_option(g->name, NULL, context, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
}

/* ---- real cancels of the session ---- */

/*
 * A cancel of the session arrives as SIGINT: from the user or
 * pg_cancel_backend(), and from the session's own statement_timeout (whose
 * handler signals the process).  This handler, installed in front of the
 * usual one for every pass, records that a real cancel happened, so that the
 * run loop tells it from an error a check raised with SQLSTATE 57014.  The
 * SIGINT that lock_timeout sends itself is the check's own business (it
 * waited for a lock) and is not recorded.  Our own check timeout sets
 * QueryCancelPending directly and never sends SIGINT.
 */
static pqsigfunc prev_sigint = NULL;
static volatile sig_atomic_t stmt_timeout_seen = false;

static void
SloSigint(SIGNAL_ARGS)
{
	pqsigfunc	prev = prev_sigint;

	if (prev != SIG_IGN)
	{
		bool		stmt = get_timeout_indicator(STATEMENT_TIMEOUT, false);

		if (stmt || !get_timeout_indicator(LOCK_TIMEOUT, false))
		{
			cancel_seen = true;
			if (stmt)
				stmt_timeout_seen = true;
		}
	}
	if (prev != NULL && prev != SIG_IGN && prev != SIG_DFL)
		prev(postgres_signal_arg);
}

/* Put SloSigint in front of whatever handles SIGINT now; forget older cancels. */
static void
WatchCancels(void)
{
	pqsigfunc	cur = pqsignal(SIGINT, SloSigint);

	if (cur != SloSigint && cur != SIG_ERR)
		prev_sigint = cur;
	cancel_seen = false;
	stmt_timeout_seen = false;
}

/* End the pass the way the session's cancel would have. */
static void
ThrowSessionCancel(void)
{
	QueryCancelPending = false;
	if (stmt_timeout_seen)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to statement timeout")));
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling statement due to user request")));
}

/* ---- no temporary relation stands in for what a check reads ---- */

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;

static void
RefuseTempRelation(Oid relid)
{
	char	   *nsp;
	char	   *rel;

	/* catalogs and the extension's own tables are never temporary */
	if (relid < FirstNormalObjectId || get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
		return;
	nsp = get_namespace_name(get_rel_namespace(relid));
	rel = get_rel_name(relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("check \"%s\" may not read temporary relation %s",
					running_check ? running_check : "?",
					quote_qualified_identifier(nsp ? nsp : "pg_temp", rel ? rel : "?")),
			 errdetail("A temporary relation belongs to one session; a check reads only what every session sees."),
			 errhint("Make the relation permanent, or schema-qualify the name in the check.")));
}

static bool
TempRelationWalker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			RefuseTempRelation(rte->relid);
		return false;
	}
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		/* statements that carry an analyzed query of their own */
		if (q->utilityStmt != NULL)
		{
			Node	   *u = q->utilityStmt;

			if (IsA(u, ExplainStmt))
				(void) TempRelationWalker(((ExplainStmt *) u)->query, context);
			else if (IsA(u, DeclareCursorStmt))
				(void) TempRelationWalker(((DeclareCursorStmt *) u)->query, context);
			else if (IsA(u, CreateTableAsStmt))
				(void) TempRelationWalker(((CreateTableAsStmt *) u)->query, context);
		}
		return query_tree_walker(q, TempRelationWalker, context, QTW_EXAMINE_RTES_BEFORE);
	}
	return expression_tree_walker(node, TempRelationWalker, context);
}

/*
 * Inside a check, refuse a query that names a temporary relation as soon as
 * it is parsed: before the planner could evaluate a function of a temporary
 * view, before anything runs.
 */
static void
SloPostParseAnalyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (check_depth > 0)
		(void) TempRelationWalker((Node *) query, NULL);
}

/* And any plan a check executes, cached ones included. */
static void
SloExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (check_depth > 0)
	{
		ListCell   *lc;

		foreach(lc, queryDesc->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION)
				RefuseTempRelation(rte->relid);
		}
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * exit_on_error turns every ERROR into FATAL: a check that turned it on and
 * then failed would end the session running it (the worker, a superuser's
 * session).  Inside a check it cannot be turned on; the run loop turns it off
 * for the check (and back, with the rest of the check's settings).
 */
static GucBoolCheckHook prev_exit_on_error_check = NULL;

static bool
ExitOnErrorCheck(bool *newval, void **extra, GucSource source)
{
	if (*newval && check_depth > 0)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("exit_on_error cannot be turned on inside a check of slo_guard");
		GUC_check_errdetail("It would make an error of the check end the session that runs it.");
		return false;
	}
	return prev_exit_on_error_check ? prev_exit_on_error_check(newval, extra, source) : true;
}

static void
GuardExitOnError(void)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
	{
		if (vars[i]->vartype == PGC_BOOL && strcmp(vars[i]->name, "exit_on_error") == 0)
		{
			struct config_bool *b = (struct config_bool *) vars[i];

			if (b->check_hook != ExitOnErrorCheck)
			{
				prev_exit_on_error_check = b->check_hook;
				b->check_hook = ExitOnErrorCheck;
			}
			return;
		}
	}
}

void
SloRunInit(void)
{
	GuardExitOnError();
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = SloPostParseAnalyze;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = SloExecutorStart;
}

/*
 * The search_path a check runs with: its stored one without any pg_temp
 * entry, then pg_temp explicitly last (relations in pg_temp are then found
 * only when no other schema has the name, and functions and operators are
 * never looked up there).
 */
static char *
CheckSearchPath(const char *stored)
{
	char	   *raw = pstrdup(stored);
	List	   *elems = NIL;
	ListCell   *lc;
	StringInfoData buf;

	if (!SplitIdentifierString(raw, ',', &elems))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the stored search_path of this check is not valid: %s", stored),
				 errhint("Alter the check (slo_alter_check) from a session with a valid search_path.")));
	initStringInfo(&buf);
	foreach(lc, elems)
	{
		const char *name = (const char *) lfirst(lc);

		if (strncmp(name, "pg_temp", 7) == 0 || strncmp(name, "pg_toast_temp", 13) == 0)
			continue;
		appendStringInfo(&buf, "%s, ", quote_identifier(name));
	}
	appendStringInfoString(&buf, "pg_temp");
	return buf.data;
}

/* ---- advisory locks a check takes are released at its end ---- */

typedef struct HeldLock
{
	LOCKTAG		tag;
	LOCKMODE	mode;
	int64		session;		/* session-level holds */
	int64		owned;			/* transaction-level holds of CurrentResourceOwner */
} HeldLock;

typedef struct HeldLocks
{
	int			n;
	int			cap;
	HeldLock   *locks;
} HeldLocks;

/* This backend's hold counts of one lock it holds (found through its LOCALLOCK). */
static void
CountHolds(HeldLock *h)
{
	LOCALLOCK  *ll = NULL;
	LockAcquireResult r;

	h->session = 0;
	h->owned = 0;
	/* already held, so this only counts one more session hold locally */
	r = LockAcquireExtended(&h->tag, h->mode, true, true, false, &ll);
	if (r != LOCKACQUIRE_ALREADY_HELD && r != LOCKACQUIRE_ALREADY_CLEAR)
	{
		if (r == LOCKACQUIRE_OK)
			LockRelease(&h->tag, h->mode, true);
		return;
	}
	for (int i = 0; i < ll->numLockOwners; i++)
	{
		if (ll->lockOwners[i].owner == NULL)
			h->session += ll->lockOwners[i].nLocks;
		else if (ll->lockOwners[i].owner == CurrentResourceOwner)
			h->owned += ll->lockOwners[i].nLocks;
	}
	h->session--;
	LockRelease(&h->tag, h->mode, true);
}

/*
 * The advisory locks this backend holds, read from its own PROCLOCKs (no
 * scan of the shared lock table): usually none, and then this costs a look
 * at a few list heads.
 */
static void
ScanAdvisoryLocks(HeldLocks *set, MemoryContext cxt)
{
	set->n = 0;
	for (int p = 0; p < NUM_LOCK_PARTITIONS; p++)
	{
		SHM_QUEUE  *head = &MyProc->myProcLocks[p];
		LWLock	   *plock;
		PROCLOCK   *pl;

		/* only this backend adds advisory locks to its own lists */
		if (SHMQueueEmpty(head))
			continue;
		plock = LockHashPartitionLockByIndex(p);
		LWLockAcquire(plock, LW_SHARED);
		for (pl = (PROCLOCK *) SHMQueueNext(head, head, offsetof(PROCLOCK, procLink));
			 pl != NULL;
			 pl = (PROCLOCK *) SHMQueueNext(head, &pl->procLink, offsetof(PROCLOCK, procLink)))
		{
			LOCK	   *lock = pl->tag.myLock;

			if (lock->tag.locktag_lockmethodid != USER_LOCKMETHOD)
				continue;
			for (LOCKMODE m = 1; m <= MaxLockMode; m++)
			{
				if (!(pl->holdMask & LOCKBIT_ON(m)))
					continue;
				if (set->n == set->cap)
				{
					set->cap = set->cap ? set->cap * 2 : 8;
					set->locks = set->locks ?
						repalloc(set->locks, sizeof(HeldLock) * set->cap) :
						MemoryContextAlloc(cxt, sizeof(HeldLock) * set->cap);
				}
				set->locks[set->n].tag = lock->tag;
				set->locks[set->n].mode = m;
				set->n++;
			}
		}
		LWLockRelease(plock);
	}
	for (int i = 0; i < set->n; i++)
		CountHolds(&set->locks[i]);
}

/*
 * Release the advisory locks taken since *before was scanned: session-level
 * holds beyond those of before, and (if owned) every transaction-level hold
 * of CurrentResourceOwner, which inside a check's subtransaction is the
 * check's own.
 */
static void
ReleaseNewAdvisoryLocks(const HeldLocks *before, bool owned, MemoryContext cxt)
{
	HeldLocks	now = {0, 0, NULL};

	ScanAdvisoryLocks(&now, cxt);
	for (int i = 0; i < now.n; i++)
	{
		HeldLock   *h = &now.locks[i];
		int64		keep = 0;

		for (int j = 0; j < before->n; j++)
			if (before->locks[j].mode == h->mode &&
				memcmp(&before->locks[j].tag, &h->tag, sizeof(LOCKTAG)) == 0)
				keep = before->locks[j].session;
		for (int64 k = keep; k < h->session; k++)
			LockRelease(&h->tag, h->mode, true);
		for (int64 k = 0; owned && k < h->owned; k++)
			LockRelease(&h->tag, h->mode, false);
	}
	if (now.locks)
		pfree(now.locks);
}

/* ---- running one check ---- */

/* What RunOne calls: a synchronous kind's run, or an asynchronous kind's start or finish. */
typedef enum SloPhase
{
	SLO_PHASE_RUN,
	SLO_PHASE_START,
	SLO_PHASE_FINISH
} SloPhase;

/* Done with an asynchronous check's state (release), once; its state context is freed. */
static void
AsyncGiveUp(SloRunItem *item)
{
	item->async_pending = false;
	if (item->astate != NULL && item->check.kind && item->check.kind->release)
		item->check.kind->release(item->astate);
	item->astate = NULL;
	if (item->astatecxt != NULL)
		MemoryContextDelete(item->astatecxt);
	item->astatecxt = NULL;
}

/*
 * Close a check's outcome: duration, default summary, clipped summary, finite
 * value; then copy what is kept (summary, severity and jsonb detail) into the pass's
 * context and free the check's own context.
 */
static void
FinishOutcome(SloRunItem *item, MemoryContext passcxt, MemoryContext checkcxt)
{
	SloOutcome *out = &item->out;

	MemoryContextSwitchTo(checkcxt);
	item->duration_ms = (double) (GetCurrentTimestamp() - item->at) / 1000.0;
	if (out->summary == NULL)
		SloOutcomeSet(out, out->status, out->has_value, out->value, "%s",
					  SloStatusName(out->status));
	out->summary = SloClipText(out->summary, SLO_SUMMARY_STORED_MAX);
	if (out->has_value && !isfinite(out->value))
		out->has_value = false;

	MemoryContextSwitchTo(passcxt);
	out->summary = pstrdup(out->summary);
	if (out->severity != NULL)	/* an objective's page severity (issue 13) */
		out->severity = pstrdup(out->severity);
	out->detail = NULL;			/* kept as item->detail (jsonb) */
	if (item->detail != NULL)
	{
		Size		len = VARSIZE(item->detail);
		Jsonb	   *copy = palloc(len);

		memcpy(copy, item->detail, len);
		item->detail = copy;
	}
	out->cxt = passcxt;
	MemoryContextDelete(checkcxt);
}

/* The check's timeout: its kind's timeout_param may lower check_timeout, never raise it. */
static int
CheckTimeoutMs(const SloCheck *check)
{
	int64		ms;

	if (check->kind && check->kind->timeout_param &&
		SloParamIntervalMs(check->params, check->kind->timeout_param, &ms) && ms > 0)
		return (int) Min(ms, (int64) slo_check_timeout_ms);
	return slo_check_timeout_ms;
}

/*
 * Run one check in a subtransaction.  Anything the check throws is caught
 * and recorded, except a real cancel or termination of the whole session,
 * which ends the pass.  Settings and advisory locks the check took are undone
 * either way.
 */
static void
RunOne(SloRunItem *item, MemoryContext passcxt, const HeldLocks *locks_before, SloPhase phase)
{
	ResourceOwner oldowner = CurrentResourceOwner;
	SloCheck   *check = &item->check;
	SloOutcome *out = &item->out;
	int			timeout_ms = CheckTimeoutMs(check);
	int			arm_ms = timeout_ms;
	volatile bool entered = false;
	/* everything the check allocates lives here and is freed when it ends */
	MemoryContext cxt = AllocSetContextCreate(passcxt, "slo_guard check",
											  ALLOCSET_DEFAULT_SIZES);

	memset(out, 0, sizeof(*out));
	out->cxt = cxt;
	item->detail = NULL;
	if (phase == SLO_PHASE_FINISH)
	{
		/* what is left of the timeout that started with start */
		arm_ms = timeout_ms - (int) ((GetCurrentTimestamp() - item->at) / 1000);
		if (arm_ms < 1)
			arm_ms = 1;
	}
	else
		item->at = GetCurrentTimestamp();
	item->async_pending = false;
	MemoryContextSwitchTo(cxt);

	if (check->kind == NULL)
	{
		SloOutcomeSet(out, SLO_ERROR, false, 0,
					  "Unknown check kind \"%s\" (not known to this version of slo_guard).",
					  item->kind_name);
		FinishOutcome(item, passcxt, cxt);
		return;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Oid			saved_user;
		int			saved_sec;
		int			nest;

		/* never as another role: a dropped owner, or its OID reused, is an error */
		SloCheckOwnerIntact(check->owner, check->owner_name);
		/* every setting made from here on is rolled back below */
		nest = SloPushSearchPath(CheckSearchPath(check->search_path));
		ResetCallerSettings();
		if (ExitOnAnyError)
			(void) set_config_option("exit_on_error", "off", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		GetUserIdAndSecContext(&saved_user, &saved_sec);
		SetUserIdAndSecContext(check->owner,
							   saved_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		running_check = check->name;
		check_depth++;
		entered = true;
		ArmCheckTimeout(arm_ms);

		if (phase == SLO_PHASE_FINISH)
			check->kind->finish(check, item->astate, out);
		else
		{
			/* a row written around slo_add_check (a dump, the table owner) */
			SloValidateCheckParams(check->kind, check->params);
			/* seeing other roles' sessions needs pg_read_all_stats's privileges */
			if (check->kind->needs_stats)
				SloRequireStatsPrivilege(check->kind->name);
			if (phase == SLO_PHASE_START)
			{
				item->astate = check->kind->start(check, item->astatecxt, out);
				item->async_pending = (item->astate != NULL && out->summary == NULL);
			}
			else
				check->kind->run(check, out);
		}
		/* detail becomes jsonb here: malformed detail is this check's error */
		MemoryContextSwitchTo(cxt);
		if (out->detail != NULL)
			item->detail = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															  CStringGetDatum(out->detail)));

		DisarmCheckTimeout();
		check_depth--;
		entered = false;
		running_check = NULL;
		/* caught its cancel, or the timer fired after its last interrupt check */
		if (check_timed_out || cancel_seen)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("check ran past its timeout")));
		SetUserIdAndSecContext(saved_user, saved_sec);
		AtEOXact_GUC(false, nest);
		ReleaseNewAdvisoryLocks(locks_before, true, cxt);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		timed_out;

		DisarmCheckTimeout();
		if (entered)
			check_depth--;
		running_check = NULL;
		timed_out = check_timed_out;
		check_timed_out = false;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = oldowner;
		/* the rollback released its transaction-level locks, not session ones */
		ReleaseNewAdvisoryLocks(locks_before, false, cxt);

		/* a real cancel of the session, or its termination, ends the whole pass */
		if (ProcDiePending || cancel_seen)
			AsyncGiveUp(item);
		if (ProcDiePending)
			ReThrowError(edata);
		if (cancel_seen)
			ThrowSessionCancel();
		/* our timer's cancel (perhaps fired again after the error) is spent */
		QueryCancelPending = false;
		AsyncGiveUp(item);

		if (timed_out)
			SloOutcomeSet(out, SLO_ERROR, false, 0,
						  "Check timed out after %d ms and was cancelled.", timeout_ms);
		else
			SloOutcomeSet(out, SLO_ERROR, false, 0, "Check could not run: %s (SQLSTATE %s).%s%s",
						  edata->message, unpack_sql_state(edata->sqlerrcode),
						  edata->hint ? " " : "", edata->hint ? edata->hint : "");
		item->detail = NULL;
		FreeErrorData(edata);
	}
	PG_END_TRY();

	if (item->async_pending)
	{
		/* started: the outcome comes from finish, after polling */
		MemoryContextSwitchTo(passcxt);
		MemoryContextDelete(cxt);
		out->cxt = passcxt;
		return;
	}
	AsyncGiveUp(item);
	FinishOutcome(item, passcxt, cxt);
}

/* Next due time on the check's grid, strictly after now: no drift, no catch-up. */
static TimestampTz
NextRun(TimestampTz prev_next, int64 every_us, TimestampTz now)
{
	TimestampTz next;

	if (every_us <= 0)
		every_us = USECS_PER_SEC;
	if (prev_next <= 0 || prev_next > now + every_us)
		return now + every_us;
	next = prev_next + every_us;
	if (next <= now)
		next = prev_next + ((now - prev_next) / every_us + 1) * every_us;
	return next;
}

/* ---- loading and writing ---- */

/* How a load claims the checks it reads. */
typedef enum SloClaim
{
	SLO_CLAIM_NONE,				/* read only (a hot standby, or just looking) */
	SLO_CLAIM_SKIP,				/* FOR UPDATE SKIP LOCKED: pass over checks running elsewhere */
	SLO_CLAIM_WAIT				/* FOR UPDATE: wait (bounded by lock_timeout) */
} SloClaim;

/* A growing array of run items, in the pass's context. */
typedef struct SloItems
{
	SloRunItem *items;
	int			n;
	int			cap;
} SloItems;

static SloRunItem *
AddItem(SloItems *set, MemoryContext cxt)
{
	if (set->n == set->cap)
	{
		int			cap = set->cap ? set->cap * 2 : 16;

		if (set->items == NULL)
			set->items = MemoryContextAllocZero(cxt, sizeof(SloRunItem) * cap);
		else
		{
			set->items = repalloc(set->items, sizeof(SloRunItem) * cap);
			memset(&set->items[set->cap], 0, sizeof(SloRunItem) * (cap - set->cap));
		}
		set->cap = cap;
	}
	return &set->items[set->n++];
}

/*
 * Read enabled checks with their state and append them to *set: only the due
 * ones if only_due, only those of ids (NULL: all), at most limit (<= 0: no
 * limit), in next_run order, claimed as asked.  Returns how many were added.
 */
static int
LoadChecks(const SloExtension *ext, SloClaim claim, bool only_due,
		   const int64 *ids, int nids, int limit, MemoryContext cxt, SloItems *set)
{
	char	   *sql;
	Oid			types[4] = {BOOLOID, TIMESTAMPTZOID, INT8ARRAYOID, INT8OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			n;

	sql = psprintf("SELECT c.id, c.name, c.kind, c.params, c.severity, c.labels, c.owner, "
				   "       c.search_path, c.fail_after, "
				   "       (extract(epoch FROM c.every) * 1000000)::int8, "
				   "       s.status, s.since, s.next_run, s.fail_streak, s.first_fail_at, s.alert_id, "
				   "       c.owner_name, s.last_duration_ms "
				   "FROM %s.slo_check c JOIN %s.slo_check_state s ON s.check_id = c.id "
				   "WHERE c.enabled AND (NOT $1 OR s.next_run <= $2) "
				   "  AND ($3 IS NULL OR c.id = ANY($3)) "
				   "ORDER BY s.next_run, c.id LIMIT $4 %s",
				   ext->nspname, ext->nspname,
				   claim == SLO_CLAIM_SKIP ? "FOR UPDATE OF s SKIP LOCKED" :
				   claim == SLO_CLAIM_WAIT ? "FOR UPDATE OF s" : "");
	values[0] = BoolGetDatum(only_due);
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (ids != NULL)
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(nids, 1));

		for (int i = 0; i < nids; i++)
			d[i] = Int64GetDatum(ids[i]);
		values[2] = PointerGetDatum(construct_array(d, nids, INT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
	}
	else
		nulls[2] = 'n';
	values[3] = Int64GetDatum((int64) limit);
	if (limit <= 0)
		nulls[3] = 'n';
	if (SPI_execute_with_args(sql, 4, types, values, nulls, claim == SLO_CLAIM_NONE, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "slo_guard: could not read due checks");

	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SloRunItem *it = AddItem(set, cxt);
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Datum		d;

		it->claimed = (claim != SLO_CLAIM_NONE);
		it->check.ext = ext;
		it->check.id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		it->check.name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		it->kind_name = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		it->check.kind = SloFindKind(it->kind_name);
		it->check.params = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		it->check.severity = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
		it->check.labels = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 6, &isnull));
		it->check.owner = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		it->check.search_path = TextDatumGetCString(SPI_getbinval(tup, desc, 8, &isnull));
		it->check.fail_after = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		it->check.every_us = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
		d = SPI_getbinval(tup, desc, 11, &isnull);
		it->had_status = !isnull && SloStatusFromName(TextDatumGetCString(d), &it->prev_status);
		d = SPI_getbinval(tup, desc, 12, &isnull);
		it->prev_since = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 13, &isnull);
		it->prev_next_run = isnull ? 0 : DatumGetTimestampTz(d);
		it->alert.fail_streak = DatumGetInt32(SPI_getbinval(tup, desc, 14, &isnull));
		d = SPI_getbinval(tup, desc, 15, &isnull);
		it->alert.first_fail_at = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 16, &isnull);
		it->alert.alert_id = isnull ? 0 : DatumGetInt64(d);
		it->check.owner_name = TextDatumGetCString(SPI_getbinval(tup, desc, 17, &isnull));
		d = SPI_getbinval(tup, desc, 18, &isnull);
		it->prev_duration_ms = isnull ? -1 : DatumGetFloat8(d);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	return n;
}
/* Build a 1-D array datum of the given type from values/nulls. */
static Datum
MakeArray(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* Insert the kept results in one statement; sets result_id of each. */
static void
WriteResults(const SloExtension *ext, SloRunItem *items, int n)
{
	Datum	   *v[8];
	bool	   *nl[8];
	Oid			elem[8] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID, TEXTOID,
	JSONBOID, FLOAT8OID};
	Oid			types[8];
	Datum		args[8];
	int			k = 0;
	int		   *index = palloc(sizeof(int) * n);
	char	   *sql;

	for (int c = 0; c < 8; c++)
	{
		v[c] = palloc(sizeof(Datum) * n);
		nl[c] = palloc0(sizeof(bool) * n);
		types[c] = get_array_type(elem[c]);
	}
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];

		if (!it->claimed || !it->keep)
			continue;
		index[k] = i;
		v[0][k] = Int64GetDatum(it->check.id);
		v[1][k] = CStringGetTextDatum(it->check.name);
		v[2][k] = TimestampTzGetDatum(it->at);
		v[3][k] = CStringGetTextDatum(SloStatusName(it->out.status));
		v[4][k] = Float8GetDatum(it->out.value);
		nl[4][k] = !it->out.has_value;
		v[5][k] = CStringGetTextDatum(it->out.summary);
		if (it->detail)
			v[6][k] = JsonbPGetDatum(it->detail);
		else
			nl[6][k] = true;
		v[7][k] = Float8GetDatum(it->duration_ms);
		k++;
	}
	if (k == 0)
		return;
	for (int c = 0; c < 8; c++)
		args[c] = MakeArray(v[c], nl[c], k, elem[c]);

	sql = psprintf("INSERT INTO %s.slo_result "
				   "(check_id, check_name, at, status, value, summary, detail, duration_ms) "
				   "SELECT u.a, u.b, u.c, u.d, u.e, u.f, u.g, u.h "
				   "FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WITH ORDINALITY "
				   "     AS u(a, b, c, d, e, f, g, h, o) ORDER BY u.o "
				   "RETURNING id", ext->nspname);
	if (SPI_execute_with_args(sql, 8, types, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != (uint64) k)
		elog(ERROR, "slo_guard: could not record results");
	/* RETURNING follows insertion order, which follows ORDER BY u.o. */
	for (int j = 0; j < k; j++)
	{
		bool		isnull;

		items[index[j]].result_id =
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/* Write the new state of every check run, in one statement. */
static void
WriteState(const SloExtension *ext, SloRunItem *items, int n)
{
#define NSTATE 11
	Datum	   *v[NSTATE];
	bool	   *nl[NSTATE];
	Oid			elem[NSTATE] = {INT8OID, TEXTOID, FLOAT8OID, TEXTOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, INT8OID, FLOAT8OID};
	Oid			types[NSTATE];
	Datum		args[NSTATE];
	char	   *sql;
	int			k = 0;

	for (int c = 0; c < NSTATE; c++)
	{
		v[c] = palloc(sizeof(Datum) * n);
		nl[c] = palloc0(sizeof(bool) * n);
		types[c] = get_array_type(elem[c]);
	}

	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];
		bool		same = it->had_status && it->prev_status == it->out.status;

		if (!it->claimed)
			continue;
		v[0][k] = Int64GetDatum(it->check.id);
		v[1][k] = CStringGetTextDatum(SloStatusName(it->out.status));
		v[2][k] = Float8GetDatum(it->out.value);
		nl[2][k] = !it->out.has_value;
		v[3][k] = CStringGetTextDatum(it->out.summary);
		v[4][k] = TimestampTzGetDatum(same && it->prev_since ? it->prev_since : it->at);
		v[5][k] = TimestampTzGetDatum(it->at);
		v[6][k] = TimestampTzGetDatum(it->next_run);
		v[7][k] = Int32GetDatum(it->alert.fail_streak);
		v[8][k] = TimestampTzGetDatum(it->alert.first_fail_at);
		nl[8][k] = (it->alert.first_fail_at == 0);
		v[9][k] = Int64GetDatum(it->alert.alert_id);
		nl[9][k] = (it->alert.alert_id == 0);
		v[10][k] = Float8GetDatum(it->duration_ms);
		k++;
	}
	if (k == 0)
		return;
	for (int c = 0; c < NSTATE; c++)
		args[c] = MakeArray(v[c], nl[c], k, elem[c]);

	sql = psprintf("UPDATE %s.slo_check_state s SET status = u.status, value = u.value, "
				   "summary = u.summary, since = u.since, last_run = u.last_run, "
				   "next_run = u.next_run, fail_streak = u.fail_streak, "
				   "first_fail_at = u.first_fail_at, alert_id = u.alert_id, "
				   "last_duration_ms = u.last_duration_ms "
				   "FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
				   "  AS u(check_id, status, value, summary, since, last_run, next_run, "
				   "       fail_streak, first_fail_at, alert_id, last_duration_ms) "
				   "WHERE s.check_id = u.check_id", ext->nspname);
	if (SPI_execute_with_args(sql, NSTATE, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not record check state");
#undef NSTATE
}

/* Append one slo_result row per item to the caller's tuplestore. */
static void
EmitResults(SloRunItem *items, int n, Tuplestorestate *out, TupleDesc desc)
{
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &items[i];
		Datum		values[9];
		bool		nulls[9] = {false};

		values[0] = Int64GetDatum(it->result_id);
		nulls[0] = !it->keep;
		values[1] = Int64GetDatum(it->check.id);
		values[2] = CStringGetTextDatum(it->check.name);
		values[3] = TimestampTzGetDatum(it->at);
		values[4] = CStringGetTextDatum(SloStatusName(it->out.status));
		values[5] = Float8GetDatum(it->out.value);
		nulls[5] = !it->out.has_value;
		values[6] = CStringGetTextDatum(it->out.summary);
		if (it->detail)
			values[7] = JsonbPGetDatum(it->detail);
		else
			nulls[7] = true;
		values[8] = Float8GetDatum(it->duration_ms);
		tuplestore_putvalues(out, desc, values, nulls);
	}
}

/* A pass never runs inside a pass: not from a check, not from a trigger on our tables. */
static void
RefuseNestedPass(void)
{
	if (!pass_running)
		return;
	if (running_check != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("slo_run_checks() cannot run inside check \"%s\"", running_check),
				 errdetail("A check may not start another pass of checks."),
				 errhint("Remove the call to slo_run_checks() from what the check reads (its query, views or functions).")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("slo_run_checks() cannot run while a pass of checks is running in this session"),
			 errhint("Do not call slo_run_checks() from a check or from a trigger on slo_guard's tables.")));
}

/*
 * One pass: the state every entry point shares.  The items run so far live in
 * items; those up to `written` have had their result, state and alert
 * transition written.
 */
typedef struct SloPass
{
	const SloExtension *ext;
	bool		readonly;
	MemoryContext cxt;
	SloItems	set;
	int			written;
	HeldLocks	locks_before;
	SloBookkeeping bk;
	bool		park;			/* park started async checks (SloAsyncDefer, batches only) */
} SloPass;

/* ---- asynchronous checks parked between transactions (run workers) ---- */

/*
 * A started asynchronous check whose claim was let go: its lease (the
 * next_run written when it was parked) keeps due runs off it until it is
 * finished in a later transaction, or the lease runs out (a worker that died
 * with it parked: the check is simply due again).
 */
typedef struct SloParked
{
	int64		check_id;
	TimestampTz lease;
	TimestampTz orig_next_run;
	TimestampTz at;				/* when start was called */
	int			timeout_ms;
	const SloKind *kind;
	void	   *astate;
	MemoryContext astatecxt;
	bool		done;			/* poll said done, or past its timeout */
} SloParked;

static bool async_defer = false;
static MemoryContext parked_cxt = NULL;
static List *parked = NIL;

void
SloAsyncDefer(bool on)
{
	async_defer = on;
}

int
SloAsyncInFlight(void)
{
	return list_length(parked);
}

static void
ParkedRelease(SloParked *pk)
{
	if (pk->astate != NULL && pk->kind->release)
		pk->kind->release(pk->astate);
	pk->astate = NULL;
	if (pk->astatecxt)
		MemoryContextDelete(pk->astatecxt);
	pk->astatecxt = NULL;
}

long
SloAsyncPoll(void)
{
	ListCell   *lc;
	long		wait_ms = -1;

	foreach(lc, parked)
	{
		SloParked  *pk = lfirst(lc);
		long		w = 1000;
		TimestampTz deadline = TimestampTzPlusMilliseconds(pk->at, pk->timeout_ms);

		if (!pk->done)
		{
			if (pk->kind->poll(pk->astate, &w) || GetCurrentTimestamp() >= deadline)
				pk->done = true;
			else
			{
				long		left = (long) ((deadline - GetCurrentTimestamp()) / 1000) + 1;

				w = Min(Max(w, 1), left);
			}
		}
		if (pk->done)
			w = 0;
		wait_ms = wait_ms < 0 ? w : Min(wait_ms, w);
	}
	return wait_ms;
}

/* Enter a pass: no nesting, own context, cancels watched, bookkeeping, SPI. */
static void
PassBegin(SloPass *pass, const SloExtension *ext)
{
	RefuseNestedPass();
	memset(pass, 0, sizeof(*pass));
	pass->ext = ext;
	/*
	 * On a hot standby nothing can be written: checks run and their results
	 * are returned, but no result, state or alert is stored and nothing is
	 * notified (the primary's slo_guard does that).  This is how a standby's
	 * own replication_lag is read.
	 */
	pass->readonly = RecoveryInProgress();
	pass->cxt = AllocSetContextCreate(CurrentMemoryContext, "slo_guard pass",
									  ALLOCSET_DEFAULT_SIZES);
	pass_running = true;
}

/* Inside PG_TRY: the parts of entering that may fail. */
static void
PassEnter(SloPass *pass, bool nolockscan)
{
	MemoryContextSwitchTo(pass->cxt);
	WatchCancels();
	SloEnterBookkeeping(pass->ext, &pass->bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	/* the caller's own advisory locks, which the checks' clean-up leaves alone */
	if (!nolockscan)
		ScanAdvisoryLocks(&pass->locks_before, pass->cxt);
}

static void
PassLeave(SloPass *pass)
{
	SPI_finish();
	SloLeaveBookkeeping(&pass->bk);
}

/* ---- one explicit run at a time ---- */

#define SLO_EXPLICIT_RUN_KEY 0x534c4f39	/* "SLO9"; key 1 is the extension's OID */

static bool explicit_lock_held = false;
static LOCKTAG explicit_lock_tag;

/*
 * Take the database's explicit-run lock (a session-level advisory lock,
 * released at the end of the call), polling so that this wait is never part
 * of a lock cycle; give up at deadline and go on without it.
 */
static void
AcquireExplicitRunLock(const SloExtension *ext, TimestampTz deadline)
{
	SET_LOCKTAG_ADVISORY(explicit_lock_tag, MyDatabaseId, ext->extoid,
						 SLO_EXPLICIT_RUN_KEY, 2);
	for (;;)
	{
		if (LockAcquire(&explicit_lock_tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL)
		{
			explicit_lock_held = true;
			return;
		}
		if (GetCurrentTimestamp() >= deadline)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (cancel_seen)
			ThrowSessionCancel();
		CHECK_FOR_INTERRUPTS();
	}
}

static void
PassReset(SloPass *pass)
{
	for (int i = 0; i < pass->set.n; i++)
		if (pass->set.items[i].astatecxt != NULL)
			AsyncGiveUp(&pass->set.items[i]);
	if (explicit_lock_held)
	{
		explicit_lock_held = false;
		LockRelease(&explicit_lock_tag, ExclusiveLock, true);
	}
	pass_running = false;
	running_check = NULL;
	check_depth = 0;
}

/*
 * Run one item of the pass (unless the session was cancelled).  An
 * asynchronous check is only started here; PassAsyncWait finishes it.
 */
static void
PassRun(SloPass *pass, SloRunItem *it)
{
	if (cancel_seen)
		ThrowSessionCancel();
	CHECK_FOR_INTERRUPTS();
	if (it->check.kind != NULL && SloKindIsAsync(it->check.kind))
	{
		if (pass->park && parked_cxt == NULL)
			parked_cxt = AllocSetContextCreate(TopMemoryContext, "slo_guard parked checks",
											   ALLOCSET_SMALL_SIZES);
		it->astatecxt = AllocSetContextCreate(pass->park ? parked_cxt : pass->cxt,
											  "slo_guard async state", ALLOCSET_SMALL_SIZES);
		RunOne(it, pass->cxt, &pass->locks_before, SLO_PHASE_START);
		if (pass->park && it->async_pending)
		{
			/* let it go: its lease is written with the batch, it finishes later */
			MemoryContext old = MemoryContextSwitchTo(parked_cxt);
			SloParked  *pk = palloc0(sizeof(SloParked));

			pk->check_id = it->check.id;
			pk->timeout_ms = CheckTimeoutMs(&it->check);
			pk->lease = TimestampTzPlusMilliseconds(it->at, pk->timeout_ms + 1000);
			pk->orig_next_run = it->prev_next_run;
			pk->at = it->at;
			pk->kind = it->check.kind;
			pk->astate = it->astate;
			pk->astatecxt = it->astatecxt;
			parked = lappend(parked, pk);
			MemoryContextSwitchTo(old);
			it->astate = NULL;
			it->astatecxt = NULL;
			it->async_pending = false;
			it->parked = true;
			it->next_run = pk->lease;
		}
	}
	else
		RunOne(it, pass->cxt, &pass->locks_before, SLO_PHASE_RUN);
	MemoryContextSwitchTo(pass->cxt);
	if (cancel_seen)
		ThrowSessionCancel();
}

/* An asynchronous check that ran out of time while being polled. */
static void
AsyncTimedOut(SloRunItem *it, MemoryContext passcxt)
{
	int			timeout_ms = CheckTimeoutMs(&it->check);
	MemoryContext cxt = AllocSetContextCreate(passcxt, "slo_guard check",
											  ALLOCSET_DEFAULT_SIZES);

	AsyncGiveUp(it);
	memset(&it->out, 0, sizeof(it->out));
	it->out.cxt = cxt;
	it->detail = NULL;
	SloOutcomeSet(&it->out, SLO_ERROR, false, 0,
				  "Check timed out after %d ms and was cancelled.", timeout_ms);
	FinishOutcome(it, passcxt, cxt);
}

/*
 * Poll every started asynchronous check of items [first, end) together until
 * each is done (then finish it, sealed) or past its timeout; sleep on the
 * latch in between.  In this mode the polling happens inside the caller's
 * transaction (explicit runs, slo_run_checks, a batch): see run.h.
 */
static void
PassAsyncWait(SloPass *pass, int first, int end)
{
	for (;;)
	{
		long		wait_ms = 1000;
		int			pending = 0;

		for (int i = first; i < end; i++)
		{
			SloRunItem *it = &pass->set.items[i];
			long		w = 1000;
			TimestampTz deadline;

			if (!it->async_pending)
				continue;
			deadline = TimestampTzPlusMilliseconds(it->at, CheckTimeoutMs(&it->check));
			if (it->check.kind->poll(it->astate, &w))
			{
				RunOne(it, pass->cxt, &pass->locks_before, SLO_PHASE_FINISH);
				MemoryContextSwitchTo(pass->cxt);
				if (cancel_seen)
					ThrowSessionCancel();
			}
			else if (GetCurrentTimestamp() >= deadline)
				AsyncTimedOut(it, pass->cxt);
			else
			{
				long		left = (long) ((deadline - GetCurrentTimestamp()) / 1000) + 1;

				pending++;
				wait_ms = Min(wait_ms, Min(Max(w, 1), left));
			}
		}
		if (pending == 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (cancel_seen)
			ThrowSessionCancel();
		CHECK_FOR_INTERRUPTS();
	}
}

/* A parked check's lease: its next_run, until it is finished. */
static void
WriteLease(const SloExtension *ext, int64 check_id, TimestampTz lease)
{
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2] = {Int64GetDatum(check_id), TimestampTzGetDatum(lease)};
	char	   *sql = psprintf("UPDATE %s.slo_check_state SET next_run = $2 WHERE check_id = $1",
							   ext->nspname);

	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "slo_guard: could not record the lease of a started check");
}

/*
 * Write what the items run since the last flush produced: alert transitions
 * (with their NOTIFY, sent at commit), results and state.  Items not claimed
 * (read-only, or a check still running elsewhere) are returned, never stored.
 */
static void
PassFlush(SloPass *pass)
{
	SloRunItem *its = pass->set.items + pass->written;
	int			n = pass->set.n - pass->written;
	int			nclaimed = 0;

	if (n <= 0)
		return;
	for (int i = 0; i < n; i++)
	{
		SloRunItem *it = &its[i];

		if (pass->readonly || !it->claimed || it->parked)
		{
			if (it->parked && !pass->readonly && it->claimed)
				WriteLease(pass->ext, it->check.id, it->next_run);
			it->claimed = false;
			it->keep = false;
			continue;
		}
		nclaimed++;
		it->next_run = NextRun(it->prev_next_run, it->check.every_us, it->at);
		it->keep = !(slo_keep_ok_results == SLO_KEEP_OK_CHANGES &&
					 it->out.status == SLO_OK && it->had_status && it->prev_status == SLO_OK);
		SloAlertApply(pass->ext, &it->check, &it->alert, &it->out, it->at);
		SloObjectivesRecord(pass->ext, &it->check, &it->out, it->at);	/* issue 13: SLO rollups, every result (stored or not) */
	}
	if (nclaimed > 0)
	{
		WriteResults(pass->ext, its, n);
		WriteState(pass->ext, its, n);
	}
	pass->written = pass->set.n;
}

/* After the pass: results to the caller's tuplestore, context freed. */
static int
PassEnd(SloPass *pass, MemoryContext oldcxt, Tuplestorestate *out, TupleDesc outdesc)
{
	int			n = pass->set.n;

	MemoryContextSwitchTo(oldcxt);
	if (out != NULL)
		EmitResults(pass->set.items, n, out, outdesc);
	MemoryContextDelete(pass->cxt);
	return n;
}

static bool
IdIn(int64 id, const int64 *ids, int n)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* "10 s", "2.5 s" */
static char *
Seconds(int ms)
{
	if (ms % 1000 == 0)
		return psprintf("%d s", ms / 1000);
	return psprintf("%.1f s", ms / 1000.0);
}

/*
 * Claim one check another session is running: wait for its state row, at
 * most the check's timeout (lock_timeout, in a subtransaction).  On success
 * the claimed item is appended to the pass and returned; when the wait runs
 * out (or ends in a deadlock), an `error` item that is returned to the caller
 * but not stored (the other session stores its own result) is appended and
 * NULL returned.  A real cancel of the session ends the pass.
 */
static SloRunItem *
WaitClaim(SloPass *pass, const SloRunItem *seen, TimestampTz since)
{
	ResourceOwner oldowner = CurrentResourceOwner;
	int			timeout_ms = CheckTimeoutMs(&seen->check);
	/* the bound counts from the start of the explicit run: waits do not add up */
	long		left_ms = timeout_ms - (long) ((GetCurrentTimestamp() - since) / 1000);
	int64		id = seen->check.id;
	int			before = pass->set.n;
	volatile int got = 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(pass->cxt);
	PG_TRY();
	{
		int			nest = NewGUCNestLevel();
		char		buf[32];

		snprintf(buf, sizeof(buf), "%ld", Max(left_ms, 1L));
		(void) set_config_option("lock_timeout", buf, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		got = LoadChecks(pass->ext, SLO_CLAIM_WAIT, false, &id, 1, 1, pass->cxt, &pass->set);
		AtEOXact_GUC(false, nest);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(pass->cxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		SloRunItem *it;

		MemoryContextSwitchTo(pass->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(pass->cxt);
		CurrentResourceOwner = oldowner;
		if (ProcDiePending)
			ReThrowError(edata);
		if (cancel_seen)
			ThrowSessionCancel();
		QueryCancelPending = false;
		pass->set.n = before;
		it = AddItem(&pass->set, pass->cxt);
		*it = *seen;
		it->claimed = false;
		memset(&it->out, 0, sizeof(it->out));
		it->out.cxt = pass->cxt;
		it->at = GetCurrentTimestamp();
		it->detail = NULL;
		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
			edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED)
			SloOutcomeSet(&it->out, SLO_ERROR, false, 0,
						  "Check is still running in another session after %s (its timeout); it was not run here.",
						  Seconds(timeout_ms));
		else
			SloOutcomeSet(&it->out, SLO_ERROR, false, 0,
						  "Check could not be claimed: %s (SQLSTATE %s).",
						  edata->message, unpack_sql_state(edata->sqlerrcode));
		it->out.summary = SloClipText(it->out.summary, SLO_SUMMARY_STORED_MAX);
		FreeErrorData(edata);
		return NULL;
	}
	PG_END_TRY();
	return got > 0 ? &pass->set.items[pass->set.n - 1] : NULL;
}

/* How many enabled checks there are (among ids, if not NULL). */
static int64
CountEnabled(const SloExtension *ext, const int64 *ids, int nids)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	bool		isnull;
	char	   *sql = psprintf("SELECT count(*) FROM %s.slo_check c "
							   "WHERE c.enabled AND ($1 IS NULL OR c.id = ANY($1))",
							   ext->nspname);

	if (ids != NULL)
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(nids, 1));

		for (int i = 0; i < nids; i++)
			d[i] = Int64GetDatum(ids[i]);
		values[0] = PointerGetDatum(construct_array(d, nids, INT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
	}
	else
	{
		values[0] = (Datum) 0;
		nulls[0] = 'n';
	}
	if (SPI_execute_with_args(sql, 1, types, values, nulls, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "slo_guard: could not count checks");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Run checks that must not be skipped: ids (NULL: every enabled check).
 * First the ones nobody else is running (one fast SKIP LOCKED claim), then
 * each one another session is running, waited for in turn.
 */
static void
RunNoSkip(SloPass *pass, const int64 *ids, int nids)
{
	SloItems	later = {NULL, 0, 0};
	int64	   *done;
	int			ndone;
	int			first = pass->set.n;
	TimestampTz since = GetCurrentTimestamp();

	/*
	 * One explicit run at a time per database (for the length of the call,
	 * not of its transaction): two explicit runs each holding claims and
	 * waiting for the other's would deadlock.  Due runs never wait for a
	 * claim, so they take no part.  Taken before the caller's advisory locks
	 * are scanned, so the checks' clean-up keeps it.
	 */
	if (!pass->readonly)
		AcquireExplicitRunLock(pass->ext, TimestampTzPlusMilliseconds(since, slo_check_timeout_ms));
	ScanAdvisoryLocks(&pass->locks_before, pass->cxt);

	LoadChecks(pass->ext, pass->readonly ? SLO_CLAIM_NONE : SLO_CLAIM_SKIP, false,
			   ids, nids, 0, pass->cxt, &pass->set);
	for (int i = first; i < pass->set.n; i++)
		PassRun(pass, &pass->set.items[i]);
	PassAsyncWait(pass, first, pass->set.n);
	PassFlush(pass);
	if (pass->readonly)
		return;

	/* the rest is being run by another session right now: wait for each */
	ndone = pass->set.n - first;
	if (CountEnabled(pass->ext, ids, nids) <= ndone)
		return;					/* nothing is held elsewhere (the usual case) */
	done = palloc(sizeof(int64) * Max(ndone, 1));
	for (int i = 0; i < ndone; i++)
		done[i] = pass->set.items[first + i].check.id;
	LoadChecks(pass->ext, SLO_CLAIM_NONE, false, ids, nids, 0, pass->cxt, &later);
	for (int i = 0; i < later.n; i++)
	{
		SloRunItem *it;

		if (IdIn(later.items[i].check.id, done, ndone))
			continue;
		if (cancel_seen)
			ThrowSessionCancel();
		CHECK_FOR_INTERRUPTS();
		it = WaitClaim(pass, &later.items[i], since);
		if (it != NULL)
		{
			PassRun(pass, it);
			PassAsyncWait(pass, pass->set.n - 1, pass->set.n);
		}
		PassFlush(pass);
	}
}

int
SloRunChecks(const SloExtension *ext, bool only_due, Tuplestorestate *out, TupleDesc outdesc)
{
	SloPass		pass;
	MemoryContext oldcxt = CurrentMemoryContext;

	PassBegin(&pass, ext);
	PG_TRY();
	{
		PassEnter(&pass, !only_due);
		if (only_due)
		{
			/* due runs (the worker, pg_cron) pass over checks running elsewhere */
			LoadChecks(ext, pass.readonly ? SLO_CLAIM_NONE : SLO_CLAIM_SKIP, true,
					   NULL, 0, 0, pass.cxt, &pass.set);
			for (int i = 0; i < pass.set.n; i++)
				PassRun(&pass, &pass.set.items[i]);
			PassAsyncWait(&pass, 0, pass.set.n);
			PassFlush(&pass);
		}
		else
			RunNoSkip(&pass, NULL, 0);
		PassLeave(&pass);
	}
	PG_FINALLY();
	{
		PassReset(&pass);
	}
	PG_END_TRY();
	return PassEnd(&pass, oldcxt, out, outdesc);
}

int
SloRunCheckIds(const SloExtension *ext, const int64 *ids, int n,
			   Tuplestorestate *out, TupleDesc outdesc)
{
	SloPass		pass;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (n <= 0)
		return 0;
	PassBegin(&pass, ext);
	PG_TRY();
	{
		PassEnter(&pass, true);
		RunNoSkip(&pass, ids, n);
		PassLeave(&pass);
	}
	PG_FINALLY();
	{
		PassReset(&pass);
	}
	PG_END_TRY();
	return PassEnd(&pass, oldcxt, out, outdesc);
}

/* Earliest next_run of the enabled checks nobody else has claimed (DT_NOEND: none). */
static pg_noinline TimestampTz
NextUnclaimed(const SloExtension *ext, bool readonly)
{
	char	   *sql;
	TimestampTz result = DT_NOEND;

	/* FOR KEY SHARE SKIP LOCKED: a check another session is running is not "due now" */
	sql = psprintf("SELECT s.next_run FROM %s.slo_check c "
				   "JOIN %s.slo_check_state s ON s.check_id = c.id WHERE c.enabled "
				   "ORDER BY s.next_run LIMIT 1 %s",
				   ext->nspname, ext->nspname,
				   readonly ? "" : "FOR KEY SHARE OF s SKIP LOCKED");
	if (SPI_execute(sql, readonly, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetTimestampTz(d);
	}
	return result;
}

/* Did its last run take more than half a batch's budget (asynchronous kinds never block)? */
static bool
RanSlowly(const SloRunItem *it, int budget_ms)
{
	return it->prev_duration_ms > budget_ms / 2.0 &&
		!(it->check.kind != NULL && SloKindIsAsync(it->check.kind));
}

int
SloRunDueBatch(const SloExtension *ext, int max_checks, int budget_ms, TimestampTz *next_due)
{
	SloPass		pass;
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz start = GetCurrentTimestamp();
	volatile TimestampTz nd = DT_NOEND;
	const int	maxn = Max(max_checks, 1);

	PassBegin(&pass, ext);
	pass.park = async_defer && !pass.readonly;
	PG_TRY();
	{
		int			chunk = 1;
		bool		stop = false;

		PassEnter(&pass, false);
		/*
		 * Claim in growing chunks (1, 8, 64, ...): a slow check found early
		 * holds few other claims while it runs.  Each chunk is written before
		 * the next is claimed, so a check run here is no longer due.  A check
		 * whose last run took more than half the budget runs only at the head
		 * of a batch, where it is the batch's only claim: met later, the
		 * batch ends before it (it stays due and heads the next batch), so it
		 * never holds other checks' claims while it runs.
		 */
		while (!stop && pass.set.n < maxn)
		{
			int			first = pass.set.n;
			int			got;

			got = LoadChecks(ext, pass.readonly ? SLO_CLAIM_NONE : SLO_CLAIM_SKIP, true,
							 NULL, 0, Min(chunk, maxn - first), pass.cxt, &pass.set);
			if (got == 0)
				break;
			for (int i = first; i < first + got; i++)
			{
				if (i > 0 && (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), budget_ms) ||
							  RanSlowly(&pass.set.items[i], budget_ms)))
				{
					/* claimed, not run: left untouched, the claim ends at commit */
					pass.set.n = i;
					stop = true;
					break;
				}
				PassRun(&pass, &pass.set.items[i]);
			}
			/* the chunk's asynchronous checks were all started: now they finish */
			PassAsyncWait(&pass, first, pass.set.n);
			PassFlush(&pass);
			if (pass.readonly)
				break;			/* no claims: one read is all */
			if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), budget_ms))
				stop = true;
			chunk = Min(chunk * 8, 4096);
		}
		nd = NextUnclaimed(ext, pass.readonly);
		PassLeave(&pass);
	}
	PG_FINALLY();
	{
		PassReset(&pass);
	}
	PG_END_TRY();
	if (next_due)
		*next_due = nd;
	return PassEnd(&pass, oldcxt, NULL, NULL);
}

int
SloAsyncFinish(const SloExtension *ext)
{
	SloPass		pass;
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *keep = NIL;
	List	   *todo = NIL;
	ListCell   *lc;

	foreach(lc, parked)
	{
		SloParked  *pk = lfirst(lc);

		if (pk->done)
			todo = lappend(todo, pk);
		else
			keep = lappend(keep, pk);
	}
	if (todo == NIL)
		return 0;
	/* from here on the done ones are ours to finish or to let go */
	{
		MemoryContext old = MemoryContextSwitchTo(parked_cxt);
		List	   *k = list_copy(keep);

		MemoryContextSwitchTo(old);
		list_free(parked);
		parked = k;
	}

	PassBegin(&pass, ext);
	PG_TRY();
	{
		PassEnter(&pass, false);
		foreach(lc, todo)
		{
			SloParked  *pk = lfirst(lc);
			int			first = pass.set.n;
			SloRunItem *it;

			/* re-claim it; gone, disabled, held elsewhere or run since: let it go */
			if (pass.readonly ||
				LoadChecks(ext, SLO_CLAIM_SKIP, false, &pk->check_id, 1, 1, pass.cxt, &pass.set) == 0)
			{
				ParkedRelease(pk);
				continue;
			}
			it = &pass.set.items[first];
			if (it->prev_next_run != pk->lease || it->check.kind != pk->kind)
			{
				pass.set.n = first;
				ParkedRelease(pk);
				continue;
			}
			it->prev_next_run = pk->orig_next_run;
			it->at = pk->at;
			it->astate = pk->astate;
			it->astatecxt = pk->astatecxt;
			pk->astate = NULL;
			pk->astatecxt = NULL;
			if (GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(pk->at, pk->timeout_ms))
				AsyncTimedOut(it, pass.cxt);
			else
				RunOne(it, pass.cxt, &pass.locks_before, SLO_PHASE_FINISH);
			MemoryContextSwitchTo(pass.cxt);
			if (cancel_seen)
				ThrowSessionCancel();
			PassFlush(&pass);
		}
		PassLeave(&pass);
	}
	PG_FINALLY();
	{
		PassReset(&pass);
		foreach(lc, todo)
		{
			ParkedRelease((SloParked *) lfirst(lc));
			pfree(lfirst(lc));
		}
		list_free(todo);
	}
	PG_END_TRY();
	return PassEnd(&pass, oldcxt, NULL, NULL);
}

TimestampTz
SloNextDue(const SloExtension *ext)
{
	SloBookkeeping bk;
	TimestampTz result = DT_NOEND;
	char	   *sql;

	SloEnterBookkeeping(ext, &bk);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	sql = psprintf("SELECT min(s.next_run) FROM %s.slo_check c "
				   "JOIN %s.slo_check_state s ON s.check_id = c.id WHERE c.enabled",
				   ext->nspname, ext->nspname);
	if (SPI_execute(sql, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetTimestampTz(d);
	}
	SPI_finish();
	SloLeaveBookkeeping(&bk);
	return result;
}

PG_FUNCTION_INFO_V1(slo_run_checks);

/* slo_run_checks(only_due bool DEFAULT true) RETURNS SETOF slo_result */
Datum
slo_run_checks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		only_due = PG_ARGISNULL(0) ? true : PG_GETARG_BOOL(0);
	SloExtension ext;

	SloGetExtension(&ext);
	InitMaterializedSRF(fcinfo, 0);
	SloRunChecks(&ext, only_due, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

#ifdef SLO_TEST_KINDS
PG_FUNCTION_INFO_V1(slo_test_run_due_batch);

/*
 * Test builds only: SloRunDueBatch from SQL, for tests that create
 *   CREATE FUNCTION slo_test_run_due_batch(int, int) RETURNS text
 *     AS 'slo_guard' LANGUAGE C STRICT;
 * Returns "<ran> <next_due>" (next_due as timestamptz text, or "none").
 */
Datum
slo_test_run_due_batch(PG_FUNCTION_ARGS)
{
	SloExtension ext;
	TimestampTz next_due = 0;
	int			ran;

	SloGetExtension(&ext);
	ran = SloRunDueBatch(&ext, PG_GETARG_INT32(0), PG_GETARG_INT32(1), &next_due);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%d %s", ran,
											  TIMESTAMP_NOT_FINITE(next_due) ? "none" :
											  timestamptz_to_str(next_due))));
}

PG_FUNCTION_INFO_V1(slo_test_async_worker);

/*
 * Test builds only: a run worker's loop for asynchronous checks, as a
 * procedure (it commits):
 *   CREATE PROCEDURE slo_test_async_worker(int, int)
 *     AS 'slo_guard' LANGUAGE C;
 * One SloRunDueBatch(max, budget) with SloAsyncDefer on, commit, then poll and
 * finish (each finish in its own transaction) until nothing is in flight.
 * (A real worker polls with no transaction open; SPI_commit here starts the
 * next one at once, which is harmless: nothing is read or locked in it.)
 */
Datum
slo_test_async_worker(PG_FUNCTION_ARGS)
{
	SloExtension ext;
	int			max_checks = PG_GETARG_INT32(0);
	int			budget_ms = PG_GETARG_INT32(1);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "slo_guard: SPI_connect failed");
	SloGetExtension(&ext);
	SloAsyncDefer(true);
	PG_TRY();
	{
		(void) SloRunDueBatch(&ext, max_checks, budget_ms, NULL);
		SPI_commit();
		while (SloAsyncInFlight() > 0)
		{
			long		wait = SloAsyncPoll();

			if (wait == 0)
			{
				SloGetExtension(&ext);
				(void) SloAsyncFinish(&ext);
				SPI_commit();
				continue;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Max(wait, 1), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		SloAsyncDefer(false);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}
#endif							/* SLO_TEST_KINDS */
