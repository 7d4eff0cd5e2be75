/*
 * Circuit breakers around the LLM providers and the SMS provider, shared
 * by every worker of the instance (state in shared memory mapped before
 * the workers fork).  The arithmetic is lib/breaker.c.
 */
#ifndef ELENCHUS_CIRCUIT_H
#define ELENCHUS_CIRCUIT_H

#include <kore/kore.h>
#include <jansson.h>

#include "lib/llm.h"

enum circuit_id {
	CIRCUIT_GEMINI = 0,
	CIRCUIT_OPENAI,
	CIRCUIT_SMS,
	CIRCUIT_COUNT
};

/* In the parent, before the workers fork. */
void	 circuit_init(void);
/*
 * May a call to id go out now?  1: yes (*probe says whether it is the
 * half-open probe, to pass back to circuit_record); 0: no, fail fast and
 * tell the client to come back in *retry_s seconds.
 */
int	 circuit_allow(int id, int *probe, int *retry_s);
void	 circuit_record(int id, int ok, int probe);
/* The breaker for an LLM provider, and whether an outcome counts. */
int	 circuit_llm(enum llm_provider);
int	 circuit_llm_ok(enum llm_err);
/* {name: {state, consecutive_failures, opens, rejected, …}} */
json_t	*circuit_json(void);
/* Prometheus lines. */
void	 circuit_render(struct kore_buf *);

#endif
