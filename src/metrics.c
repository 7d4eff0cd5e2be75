/*
 * Shared-memory Prometheus metrics.  Counters are updated with atomic
 * adds; a route label is registered once into the shared table under a
 * spin lock and its index cached by the caller.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const int	metrics_statuses[] = {
	200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405,
	409, 413, 415, 422, 423, 429, 500, 502, 503, 504, 0
};
#define METRICS_NSTATUS	\
	(sizeof(metrics_statuses) / sizeof(metrics_statuses[0]))

/* Latency bucket bounds in microseconds. */
static const u_int64_t	metrics_buckets[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000
};
#define METRICS_NBUCKET	\
	(sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

struct metrics_route {
	char		label[METRICS_LABEL];
	u_int64_t	status[METRICS_NSTATUS];
	u_int64_t	bucket[METRICS_NBUCKET + 1];
	u_int64_t	sum_us;
	u_int64_t	count;
};

struct metrics_model {
	char		name[METRICS_LABEL];
	u_int64_t	calls_ok;
	u_int64_t	calls_err;
	u_int64_t	ms_sum;
	u_int64_t	prompt_tokens;
	u_int64_t	completion_tokens;
};

struct metrics_shm {
	volatile int		lock;
	int			nroutes;
	int			nmodels;
	int64_t			inflight;
	u_int64_t		db_errors;
	struct metrics_route	routes[METRICS_ROUTES];
	struct metrics_model	models[METRICS_MODELS];
};

static struct metrics_shm	*shm;

static void	metrics_lock(void);
static void	metrics_unlock(void);

void
metrics_init(void)
{
	void		*p;

	p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("metrics: mmap: %s", errno_s);
	shm = p;
	memset(shm, 0, sizeof(*shm));
}

int
metrics_route_id(const char *label)
{
	int		i, id;

	for (i = 0; i < __atomic_load_n(&shm->nroutes, __ATOMIC_ACQUIRE);
	    i++) {
		if (!strcmp(shm->routes[i].label, label))
			return (i);
	}

	metrics_lock();
	for (i = 0; i < shm->nroutes; i++) {
		if (!strcmp(shm->routes[i].label, label))
			break;
	}
	if (i == shm->nroutes && i < METRICS_ROUTES) {
		(void)kore_strlcpy(shm->routes[i].label, label,
		    sizeof(shm->routes[i].label));
		__atomic_store_n(&shm->nroutes, i + 1, __ATOMIC_RELEASE);
	}
	id = i < METRICS_ROUTES ? i : METRICS_ROUTES - 1;
	metrics_unlock();
	return (id);
}

void
metrics_request_begin(void)
{
	__atomic_add_fetch(&shm->inflight, 1, __ATOMIC_RELAXED);
}

void
metrics_request_end(int id, int status, u_int64_t us)
{
	struct metrics_route	*r;
	size_t			i;

	__atomic_sub_fetch(&shm->inflight, 1, __ATOMIC_RELAXED);
	if (id < 0 || id >= METRICS_ROUTES)
		return;
	r = &shm->routes[id];

	for (i = 0; i < METRICS_NSTATUS - 1; i++) {
		if (metrics_statuses[i] == status)
			break;
	}
	__atomic_add_fetch(&r->status[i], 1, __ATOMIC_RELAXED);

	for (i = 0; i < METRICS_NBUCKET; i++) {
		if (us <= metrics_buckets[i])
			break;
	}
	__atomic_add_fetch(&r->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->sum_us, us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
}

void
metrics_db_error(void)
{
	__atomic_add_fetch(&shm->db_errors, 1, __ATOMIC_RELAXED);
}

void
metrics_llm_call(const char *provider, const char *model, int ok,
    u_int64_t ms, long ptok, long ctok)
{
	struct metrics_model	*m;
	char			name[METRICS_LABEL];
	int			i;

	(void)snprintf(name, sizeof(name), "%s/%s", provider, model);
	metrics_lock();
	for (i = 0; i < shm->nmodels; i++) {
		if (!strcmp(shm->models[i].name, name))
			break;
	}
	if (i == shm->nmodels && i < METRICS_MODELS) {
		(void)kore_strlcpy(shm->models[i].name, name,
		    sizeof(shm->models[i].name));
		shm->nmodels++;
	}
	metrics_unlock();
	if (i >= METRICS_MODELS)
		return;

	m = &shm->models[i];
	if (ok)
		__atomic_add_fetch(&m->calls_ok, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&m->calls_err, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->ms_sum, ms, __ATOMIC_RELAXED);
	if (ptok > 0)
		__atomic_add_fetch(&m->prompt_tokens, (u_int64_t)ptok,
		    __ATOMIC_RELAXED);
	if (ctok > 0)
		__atomic_add_fetch(&m->completion_tokens, (u_int64_t)ctok,
		    __ATOMIC_RELAXED);
}

void
metrics_render(struct kore_buf *b, long queue_depth)
{
	struct metrics_route	*r;
	struct metrics_model	*m;
	u_int64_t		cum, n;
	size_t			j;
	int			i, nr;

	nr = __atomic_load_n(&shm->nroutes, __ATOMIC_ACQUIRE);

	kore_buf_appendf(b, "# HELP elenchus_http_requests_total "
	    "HTTP requests by route and status.\n"
	    "# TYPE elenchus_http_requests_total counter\n");
	for (i = 0; i < nr; i++) {
		r = &shm->routes[i];
		for (j = 0; j < METRICS_NSTATUS; j++) {
			n = __atomic_load_n(&r->status[j], __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (metrics_statuses[j] == 0)
				kore_buf_appendf(b, "elenchus_http_requests_"
				    "total{route=\"%s\",status=\"other\"} "
				    "%llu\n", r->label, (unsigned long long)n);
			else
				kore_buf_appendf(b, "elenchus_http_requests_"
				    "total{route=\"%s\",status=\"%d\"} %llu\n",
				    r->label, metrics_statuses[j],
				    (unsigned long long)n);
		}
	}

	kore_buf_appendf(b, "# HELP elenchus_http_request_duration_seconds "
	    "Request latency by route.\n"
	    "# TYPE elenchus_http_request_duration_seconds histogram\n");
	for (i = 0; i < nr; i++) {
		r = &shm->routes[i];
		cum = 0;
		for (j = 0; j < METRICS_NBUCKET; j++) {
			cum += __atomic_load_n(&r->bucket[j],
			    __ATOMIC_RELAXED);
			kore_buf_appendf(b, "elenchus_http_request_duration_"
			    "seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    r->label, (double)metrics_buckets[j] / 1e6,
			    (unsigned long long)cum);
		}
		cum += __atomic_load_n(&r->bucket[j], __ATOMIC_RELAXED);
		kore_buf_appendf(b, "elenchus_http_request_duration_seconds_"
		    "bucket{route=\"%s\",le=\"+Inf\"} %llu\n", r->label,
		    (unsigned long long)cum);
		kore_buf_appendf(b, "elenchus_http_request_duration_seconds_"
		    "sum{route=\"%s\"} %.6f\n", r->label,
		    (double)__atomic_load_n(&r->sum_us, __ATOMIC_RELAXED) /
		    1e6);
		kore_buf_appendf(b, "elenchus_http_request_duration_seconds_"
		    "count{route=\"%s\"} %llu\n", r->label,
		    (unsigned long long)cum);
	}

	kore_buf_appendf(b, "# HELP elenchus_http_requests_in_flight "
	    "Requests being served.\n"
	    "# TYPE elenchus_http_requests_in_flight gauge\n"
	    "elenchus_http_requests_in_flight %lld\n",
	    (long long)__atomic_load_n(&shm->inflight, __ATOMIC_RELAXED));
	kore_buf_appendf(b, "# HELP elenchus_db_errors_total "
	    "Queries that failed for want of the database.\n"
	    "# TYPE elenchus_db_errors_total counter\n"
	    "elenchus_db_errors_total %llu\n", (unsigned long long)
	    __atomic_load_n(&shm->db_errors, __ATOMIC_RELAXED));

	kore_buf_appendf(b, "# HELP elenchus_llm_calls_total LLM calls.\n"
	    "# TYPE elenchus_llm_calls_total counter\n");
	kore_buf_appendf(b, "# HELP elenchus_llm_tokens_total LLM tokens.\n"
	    "# TYPE elenchus_llm_tokens_total counter\n");
	kore_buf_appendf(b, "# HELP elenchus_llm_latency_seconds_sum "
	    "Time spent in LLM calls.\n"
	    "# TYPE elenchus_llm_latency_seconds_sum counter\n");
	for (i = 0; i < shm->nmodels && i < METRICS_MODELS; i++) {
		m = &shm->models[i];
		kore_buf_appendf(b, "elenchus_llm_calls_total{model=\"%s\","
		    "result=\"ok\"} %llu\n", m->name,
		    (unsigned long long)m->calls_ok);
		kore_buf_appendf(b, "elenchus_llm_calls_total{model=\"%s\","
		    "result=\"error\"} %llu\n", m->name,
		    (unsigned long long)m->calls_err);
		kore_buf_appendf(b, "elenchus_llm_tokens_total{model=\"%s\","
		    "kind=\"prompt\"} %llu\n", m->name,
		    (unsigned long long)m->prompt_tokens);
		kore_buf_appendf(b, "elenchus_llm_tokens_total{model=\"%s\","
		    "kind=\"completion\"} %llu\n", m->name,
		    (unsigned long long)m->completion_tokens);
		kore_buf_appendf(b, "elenchus_llm_latency_seconds_sum{model="
		    "\"%s\"} %.3f\n", m->name, (double)m->ms_sum / 1e3);
	}

	kore_buf_appendf(b, "# HELP elenchus_job_queue_depth "
	    "Jobs waiting or running.\n"
	    "# TYPE elenchus_job_queue_depth gauge\n"
	    "elenchus_job_queue_depth %ld\n", queue_depth);
}

static void
metrics_lock(void)
{
	while (__atomic_exchange_n(&shm->lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
metrics_unlock(void)
{
	__atomic_store_n(&shm->lock, 0, __ATOMIC_RELEASE);
}

/*
 * Workflow executions by template and outcome, counted in PostgreSQL
 * (the runner that finishes them is another process): rows are lines
 * "template status count".  Names outside [a-z0-9_] are skipped.
 */
void
metrics_render_workflows(struct kore_buf *b, const char *rows)
{
	char		tpl[METRICS_LABEL], st[32];
	long		n;
	int		used;

	kore_buf_appendf(b, "# HELP elenchus_workflow_executions Workflow "
	    "executions by template and status.\n"
	    "# TYPE elenchus_workflow_executions gauge\n");
	while (rows != NULL && *rows != '\0') {
		if (sscanf(rows, "%79[a-z0-9_] %31[a-z] %ld%n", tpl, st, &n,
		    &used) == 3)
			kore_buf_appendf(b, "elenchus_workflow_executions"
			    "{template=\"%s\",status=\"%s\"} %ld\n", tpl, st,
			    n);
		if ((rows = strchr(rows, '\n')) != NULL)
			rows++;
	}
}
