/*
 * elenchus-jobs: the background job runner.  A plain process (no Kore,
 * no seccomp sandbox of Kore's), N threads each with its own blocking
 * libpq connection, claiming rows of the jobs table with FOR UPDATE SKIP
 * LOCKED under a lease, woken by NOTIFY jobs_ready.
 */
#ifndef ELENCHUS_JOBS_H
#define ELENCHUS_JOBS_H

#include <signal.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "lib/config.h"
#include "lib/llm.h"
#include "lib/llmstat.h"
#include "lib/otel.h"

/* Longest error text kept for a job (last_error, processing_error). */
#define JOB_ERR_MAX		512
/* The lease outlives the job's own deadline by this much. */
#define JOB_LEASE_GRACE_S	5
/* Retry delays: base * 2^(attempt-1), capped. */
#define JOB_RETRY_BASE_S	1
#define JOB_RETRY_CAP_S		60
/* Channel a cancelled workflow execution is announced on (its id). */
#define JOB_CANCEL_CHANNEL	"workflow_cancel"
/* How long an idle thread waits for a NOTIFY before polling again. */
#define JOB_POLL_MS		1000
/* Between reconnection attempts after the database went away. */
#define JOB_RECONNECT_MS	1000

enum job_res {
	JOB_DONE = 0,	/* finished; result kept */
	JOB_RETRY,	/* transient failure: again later, if attempts left */
	JOB_FAIL,	/* permanent failure: no more attempts */
	JOB_RELEASE,	/* stopping: back to the queue, attempt not counted */
	JOB_DEFER	/* the provider's breaker is open: back to the queue
			   for jctx.circuit_wait_s, attempt not counted */
};

struct jctx {
	PGconn		*db;
	char		 runner[128];	/* host:pid:tN, the lock owner */
	int		 tid;

	/* Set by a kind around jllm_call; zeroed for every job. */
	const char	*exec_id;	/* workflow: llm_calls.execution_id */
	int		 step_index;	/* workflow: llm_calls.step_index */
	int		 max_tries;	/* 0: the backoff default */
	int		 cancelled;	/* the call was aborted by a cancel */
	int		 over_quota;	/* refused: the user's daily quota */
	int		 circuit_wait_s; /* refused: the breaker is open */
};

struct job {
	char		 id[40];
	char		 kind[64];
	json_t		*payload;
	int		 attempts;
	int		 max_attempts;
	char		 run_id[24];
	time_t		 deadline;	/* the job must be over by then */
};

struct jout {
	char		 err[JOB_ERR_MAX];
	json_t		*result;	/* owned; may stay NULL */
};

struct job_kind {
	const char	*name;
	enum job_res	(*run)(struct jctx *, struct job *, struct jout *);
	/* The job ends failed: record it where the user looks (may be NULL). */
	void		(*failed)(struct jctx *, struct job *, const char *);
};

extern struct config		cfg;
extern volatile sig_atomic_t	jobs_stopping;
/* Provider-call counters shared with the server (NULL: not counted). */
extern struct llmstat		*jobs_llmstat;

/* db.c: blocking queries on the thread's connection. */
PGresult	*jdb_exec(struct jctx *, const char *, int, const char *const *);
PGresult	*jdb_exec_bin(struct jctx *, const char *, int,
		    const char *const *, int);
int		 jdb_cmd(struct jctx *, const char *, int, const char *const *);
void		 jout_err(struct jout *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 jlog(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
int		 jsleep_ms(long, time_t);

/* The kinds (doc.c, analysis.c, workflow.c, testkinds.c). */
extern const struct job_kind	job_kind_doc_process;
/* Log what the extractor's sandbox obtains here (doc.c). */
void		 doc_sandbox_log(void);
extern const struct job_kind	job_kind_analysis;
extern const struct job_kind	job_kind_workflow_step;
extern const struct job_kind	job_kind_noop;
extern const struct job_kind	job_kind_noop_fail;
extern const struct job_kind	job_kind_llm_echo;

/*
 * llm.c: one blocking provider call with retries (backoff.h), recorded in
 * llm_calls under user_id and kind.  The model defaults to the
 * configured one.  Ends by deadline at the latest.  Before the call an
 * estimate of its tokens is reserved against the user's daily quota
 * (refused: LLM_ERR_QUOTA with over_quota set, and no call); the
 * statement that records the real usage releases the reservation.  With
 * exec_id set, a NOTIFY workflow_cancel naming it aborts the call
 * (cancelled set).  While the provider's breaker is open the call is
 * refused without reaching the provider: circuit_wait_s set, and the
 * kind answers JOB_DEFER.
 */
enum llm_err	 jllm_call(struct jctx *, const char *, const char *,
		    struct llm_request *, struct llm_result *,
		    struct llm_error *, time_t);
int		 jllm_configured(void);

/*
 * circuit.c: the provider breakers of this process (lib/breaker.c),
 * around jllm_call.  allow: 1 to call (*probe: it is the half-open
 * probe, to pass back to record), 0 to refuse for *retry_s seconds.
 */
int		 jcircuit_allow(enum llm_provider, int *, int *);
void		 jcircuit_record(enum llm_provider, enum llm_err, int);

/*
 * otel.c: traces.  A span per job run and per provider call, into the
 * instance's outbox, and the thread that exports it (when an
 * OTEL_EXPORTER_OTLP_ENDPOINT is set).
 */
int		 jotel_init(void);
void		 jotel_stop(void);
void		 jotel_job_begin(const struct job *);
void		 jotel_job_end(const struct job *, const char *, const char *);
void		 jotel_llm(struct otel_llm *, const struct llm_request *);
const char	*jllm_model(void);

#endif
