/*
 * Prometheus metrics kept in one shared memory region mapped by the
 * parent before the workers fork, so every worker adds to the same
 * counters and /metrics reports the sum.
 */
#ifndef ELENCHUS_METRICS_H
#define ELENCHUS_METRICS_H

#include <sys/types.h>
#include <kore/kore.h>

#include "lib/llm.h"

#define METRICS_ROUTES		160
#define METRICS_LABEL		80
#define METRICS_WORKERS		256	/* Kore worker ids, parent included */

void	metrics_init(void);
int	metrics_route_id(const char *label);
void	metrics_request_begin(void);
void	metrics_request_end(int route_id, int status, u_int64_t us);
/* Database events, counted across workers. */
enum metrics_db_event {
	METRICS_DB_ERROR,	/* failed for want of the database */
	METRICS_DB_RESENT,	/* sent again: another of its transaction
				   failed (or it was a deadlock's victim) */
	METRICS_DB_GROUP,	/* a group of writes committed (db.h) */
	METRICS_DB_GROUPED,	/* writes committed in a group */
	METRICS_DB_EVENTS
};
void	metrics_db_count(enum metrics_db_event, u_int64_t);
void	metrics_db_busy(int delta);
void	metrics_db_waiting(u_int32_t);
/* This worker's database gauges back to 0 (a worker starting). */
void	metrics_db_reset(void);
void	metrics_llm_call(const char *provider, const char *model,
	    enum llm_err, u_int64_t ms, long prompt_tokens,
	    long completion_tokens);
void	metrics_render(struct kore_buf *, long queue_depth);
void	metrics_render_workflows(struct kore_buf *, const char *rows);

#endif
