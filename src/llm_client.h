/*
 * The one way to call an LLM provider: a job handed to this worker's
 * provider thread, which drives every transfer of the worker at once
 * with curl's multi interface (retries with backoff included), and
 * reports back on the worker's event loop: streamed text as it arrives
 * (on_delta) and the outcome once (on_done).  Nothing here blocks the
 * event loop, and a slow provider costs one socket per call, not a
 * thread.
 */
#ifndef ELENCHUS_LLM_CLIENT_H
#define ELENCHUS_LLM_CLIENT_H

#include <sys/types.h>

#include "lib/llm.h"

/* Calls in flight per worker; more fail at once (502). */
#define LLM_CLIENT_MAX_JOBS		4096
/* Idle provider connections curl keeps per worker. */
#define LLM_CLIENT_MAX_CONNECTS		64
/* Longest the provider thread sleeps without news (ms). */
#define LLM_CLIENT_POLL_MAX_MS		1000

struct llm_job;
struct llm_job_priv;

/* Both run on the worker's event loop (main thread). */
typedef void	(*llm_delta_fn)(struct llm_job *, const char *, size_t);
typedef void	(*llm_done_fn)(struct llm_job *);

struct llm_job {
	/* The caller's; set before llm_job_submit. */
	void			*arg;
	llm_delta_fn		 on_delta;	/* streaming text, may be NULL */
	llm_done_fn		 on_done;

	/* What was asked. */
	enum llm_provider	 provider;
	char			 provider_name[16];
	char			 model[LLM_MAX_MODEL_LEN + 1];
	int			 stream;

	/* The outcome, valid from on_done on. */
	enum llm_err		 code;		/* LLM_OK or why not */
	struct llm_error	 err;		/* provider text: logs only */
	struct llm_result	 res;		/* when code == LLM_OK */
	int			 tries;
	u_int64_t		 latency_ms;	/* submit to outcome */
	int			 delta_sent;	/* text was streamed out */

	struct llm_job_priv	*p;
	int			 refs;
};

/*
 * A job for req on provider (URL, key from the configuration).  req is
 * copied: the caller may free it at once.  NULL with *rc set when the
 * request cannot be encoded.  The caller holds one reference.
 */
struct llm_job	*llm_job_new(enum llm_provider, const struct llm_request *,
		    enum llm_err *);
/* Start it; on_done will run exactly once, later, on the event loop. */
void		 llm_job_submit(struct llm_job *);
/* Drop the caller's reference; the job lives on until it is done. */
void		 llm_job_release(struct llm_job *);

#endif
