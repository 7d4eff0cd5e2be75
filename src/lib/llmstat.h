/*
 * Provider-call statistics in one fixed-size region of shared memory:
 * calls by provider, model and outcome, tokens, and a latency histogram.
 * The server's workers and the job runner of the same instance map the
 * same file (ELENCHUS_METRICS_FILE), so /metrics counts every provider
 * call the instance makes, chat and background alike.  Updates are
 * atomic adds; an entry is registered once under a spin lock.  Pure
 * code: no Kore.
 */
#ifndef ELENCHUS_LLMSTAT_H
#define ELENCHUS_LLMSTAT_H

#include <stdint.h>

#include "llm.h"

#define LLMSTAT_MAGIC		0x4c4c4d5354415432ULL	/* "LLMSTAT2" */
#define LLMSTAT_ENTRIES		64
#define LLMSTAT_PROVIDER_MAX	16
#define LLMSTAT_MODEL_MAX	(LLM_MAX_MODEL_LEN + 1)
#define LLMSTAT_NERR		(LLM_ERR_INVALID + 1)
#define LLMSTAT_NBUCKET		11

/* Histogram bounds in milliseconds (the last bucket is +Inf). */
extern const uint64_t	llmstat_bounds_ms[LLMSTAT_NBUCKET];

struct llmstat_entry {
	char		provider[LLMSTAT_PROVIDER_MAX];
	char		model[LLMSTAT_MODEL_MAX];
	uint64_t	calls[LLMSTAT_NERR];	/* by enum llm_err */
	uint64_t	prompt_tokens;
	uint64_t	completion_tokens;
	uint64_t	bucket[LLMSTAT_NBUCKET + 1];
	uint64_t	ms_sum;
};

struct llmstat {
	uint64_t		magic;
	volatile int		lock;
	int			n;
	struct llmstat_entry	e[LLMSTAT_ENTRIES];
};

/*
 * Map the region: the file at path (created, sized and initialized when
 * new or of another layout), or anonymous shared memory when path is
 * NULL or empty.  NULL on failure (errno set).
 */
struct llmstat	*llmstat_map(const char *path);
/* Count one call (after its retries). */
void		 llmstat_add(struct llmstat *, const char *provider,
		    const char *model, enum llm_err, uint64_t ms,
		    long prompt_tokens, long completion_tokens);
/* Entries registered so far (read them with __atomic_load_n). */
int		 llmstat_count(const struct llmstat *);

#endif
