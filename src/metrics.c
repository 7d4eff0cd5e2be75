/*
 * Shared-memory Prometheus metrics.  Counters are updated with atomic
 * adds; a route label is registered once into the shared table under a
 * spin lock and its index cached by the caller.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "db.h"
#include <kore/pgsql.h>		/* pgsql_conn_max */
#include "lib/llmstat.h"

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

/* What a worker knows of the database pool; summed at render. */
struct metrics_worker {
	int64_t		db_busy;	/* statements in flight */
	u_int32_t	db_waiting;	/* queued: every connection full */
};

struct metrics_shm {
	volatile int		lock;
	int			nroutes;
	int64_t			inflight;
	u_int64_t		db[METRICS_DB_EVENTS];
	struct metrics_route	routes[METRICS_ROUTES];
	struct metrics_worker	workers[METRICS_WORKERS];
};

static struct metrics_shm	*shm;

/* Name and help of each enum metrics_db_event. */
static const char *const	metrics_db_names[METRICS_DB_EVENTS][2] = {
	{ "errors", "Queries that failed for want of the database." },
	{ "resent", "Statements sent again because another of their "
	    "transaction failed or a deadlock chose theirs." },
	{ "group_commits", "Transactions of grouped writes committed." },
	{ "grouped_writes", "Writes committed in a group of writes." },
};
static struct llmstat		*llm;

static void	metrics_lock(void);
static void	metrics_unlock(void);
static void	metrics_render_status(struct kore_buf *, int);
static void	metrics_render_latency(struct kore_buf *, int);
static void	metrics_render_llm(struct kore_buf *);
static void	metrics_render_llm_latency(struct kore_buf *, int);
static u_int64_t metrics_llm_sum(int, int, int);
static void	metrics_render_db(struct kore_buf *);
static struct metrics_worker *metrics_worker(void);

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

	/* Shared with the instance's job runner when the file is named. */
	if ((llm = llmstat_map(getenv("ELENCHUS_METRICS_FILE"))) == NULL)
		fatal("metrics: %s: %s", getenv("ELENCHUS_METRICS_FILE"),
		    errno_s);
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
metrics_db_count(enum metrics_db_event e, u_int64_t n)
{
	__atomic_add_fetch(&shm->db[e], n, __ATOMIC_RELAXED);
}

void
metrics_llm_call(const char *provider, const char *model, enum llm_err err,
    u_int64_t ms, long ptok, long ctok)
{
	llmstat_add(llm, provider, model, err, ms, ptok, ctok);
}

void
metrics_db_busy(int delta)
{
	struct metrics_worker	*w;

	if ((w = metrics_worker()) != NULL)
		__atomic_add_fetch(&w->db_busy, delta, __ATOMIC_RELAXED);
}

void
metrics_db_reset(void)
{
	struct metrics_worker	*w;

	if ((w = metrics_worker()) != NULL) {
		__atomic_store_n(&w->db_busy, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w->db_waiting, 0, __ATOMIC_RELAXED);
	}
}

void
metrics_db_waiting(u_int32_t n)
{
	struct metrics_worker	*w;

	if ((w = metrics_worker()) != NULL)
		__atomic_store_n(&w->db_waiting, n, __ATOMIC_RELAXED);
}

void
metrics_render(struct kore_buf *b, long queue_depth)
{
	int		i, nr;

	nr = __atomic_load_n(&shm->nroutes, __ATOMIC_ACQUIRE);
	metrics_render_status(b, nr);
	metrics_render_latency(b, nr);

	kore_buf_appendf(b, "# HELP elenchus_http_requests_in_flight "
	    "Requests being served.\n"
	    "# TYPE elenchus_http_requests_in_flight gauge\n"
	    "elenchus_http_requests_in_flight %lld\n",
	    (long long)__atomic_load_n(&shm->inflight, __ATOMIC_RELAXED));
	for (i = 0; i < METRICS_DB_EVENTS; i++)
		kore_buf_appendf(b, "# HELP elenchus_db_%s_total %s\n"
		    "# TYPE elenchus_db_%s_total counter\n"
		    "elenchus_db_%s_total %llu\n", metrics_db_names[i][0],
		    metrics_db_names[i][1], metrics_db_names[i][0],
		    metrics_db_names[i][0], (unsigned long long)
		    __atomic_load_n(&shm->db[i], __ATOMIC_RELAXED));

	metrics_render_llm(b);
	metrics_render_db(b);

	kore_buf_appendf(b, "# HELP elenchus_job_queue_depth "
	    "Jobs waiting or running.\n"
	    "# TYPE elenchus_job_queue_depth gauge\n"
	    "elenchus_job_queue_depth %ld\n", queue_depth);
}

/* Requests by route and status, for the first nr routes. */
static void
metrics_render_status(struct kore_buf *b, int nr)
{
	struct metrics_route	*r;
	u_int64_t		n;
	size_t			j;
	int			i;

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
}

/* The latency histogram of the first nr routes. */
static void
metrics_render_latency(struct kore_buf *b, int nr)
{
	struct metrics_route	*r;
	u_int64_t		cum;
	size_t			j;
	int			i;

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
}

static void
metrics_render_llm(struct kore_buf *b)
{
	const struct llmstat_entry	*e;
	u_int64_t			 v;
	int				 i, j, n;

	n = llmstat_count(llm);
	kore_buf_appendf(b, "# HELP elenchus_llm_requests_total Provider calls "
	    "(after retries) by provider, model and outcome.\n"
	    "# TYPE elenchus_llm_requests_total counter\n");
	for (i = 0; i < n; i++) {
		e = &llm->e[i];
		for (j = 0; j < LLMSTAT_NERR; j++) {
			v = __atomic_load_n(&e->calls[j], __ATOMIC_RELAXED);
			if (v == 0 && j != LLM_OK)
				continue;
			kore_buf_appendf(b, "elenchus_llm_requests_total{"
			    "provider=\"%s\",model=\"%s\",status=\"%s\"} "
			    "%llu\n", e->provider, e->model,
			    llm_err_name((enum llm_err)j),
			    (unsigned long long)v);
		}
	}
	kore_buf_appendf(b, "# HELP elenchus_llm_tokens_total Tokens the "
	    "providers reported.\n"
	    "# TYPE elenchus_llm_tokens_total counter\n");
	for (i = 0; i < n; i++) {
		e = &llm->e[i];
		kore_buf_appendf(b, "elenchus_llm_tokens_total{provider=\"%s\","
		    "model=\"%s\",kind=\"prompt\"} %llu\n"
		    "elenchus_llm_tokens_total{provider=\"%s\",model=\"%s\","
		    "kind=\"completion\"} %llu\n", e->provider, e->model,
		    (unsigned long long)__atomic_load_n(&e->prompt_tokens,
		    __ATOMIC_RELAXED), e->provider, e->model,
		    (unsigned long long)__atomic_load_n(&e->completion_tokens,
		    __ATOMIC_RELAXED));
	}

	metrics_render_llm_latency(b, n);
}

/* One histogram per provider: its models' buckets added up. */
static void
metrics_render_llm_latency(struct kore_buf *b, int n)
{
	u_int64_t	cum;
	int		i, j, k, dup;

	kore_buf_appendf(b, "# HELP elenchus_llm_request_duration_seconds "
	    "Provider call latency, retries included.\n"
	    "# TYPE elenchus_llm_request_duration_seconds histogram\n");
	for (i = 0; i < n; i++) {
		for (dup = 0, k = 0; k < i && !dup; k++)
			dup = !strcmp(llm->e[k].provider, llm->e[i].provider);
		if (dup)
			continue;
		cum = 0;
		for (j = 0; j <= LLMSTAT_NBUCKET; j++) {
			cum += metrics_llm_sum(i, n, j);
			if (j < LLMSTAT_NBUCKET)
				kore_buf_appendf(b, "elenchus_llm_request_"
				    "duration_seconds_bucket{provider=\"%s\","
				    "le=\"%g\"} %llu\n", llm->e[i].provider,
				    (double)llmstat_bounds_ms[j] / 1e3,
				    (unsigned long long)cum);
			else
				kore_buf_appendf(b, "elenchus_llm_request_"
				    "duration_seconds_bucket{provider=\"%s\","
				    "le=\"+Inf\"} %llu\n", llm->e[i].provider,
				    (unsigned long long)cum);
		}
		kore_buf_appendf(b, "elenchus_llm_request_duration_seconds_sum{"
		    "provider=\"%s\"} %.3f\n"
		    "elenchus_llm_request_duration_seconds_count{"
		    "provider=\"%s\"} %llu\n", llm->e[i].provider,
		    (double)metrics_llm_sum(i, n, -1) / 1e3,
		    llm->e[i].provider, (unsigned long long)cum);
	}
}

/*
 * Bucket j (-1: the milliseconds summed) of entries i..n-1 that have
 * entry i's provider.
 */
static u_int64_t
metrics_llm_sum(int i, int n, int j)
{
	const struct llmstat_entry	*e;
	u_int64_t			 v;
	int				 k;

	v = 0;
	for (k = i; k < n; k++) {
		e = &llm->e[k];
		if (strcmp(e->provider, llm->e[i].provider))
			continue;
		v += __atomic_load_n(j < 0 ? &e->ms_sum : &e->bucket[j],
		    __ATOMIC_RELAXED);
	}
	return (v);
}

static void
metrics_render_db(struct kore_buf *b)
{
	int64_t		busy;
	u_int64_t	waiting;
	int		i;

	busy = 0;
	waiting = 0;
	for (i = 0; i < METRICS_WORKERS; i++) {
		busy += __atomic_load_n(&shm->workers[i].db_busy,
		    __ATOMIC_RELAXED);
		waiting += __atomic_load_n(&shm->workers[i].db_waiting,
		    __ATOMIC_RELAXED);
	}
	kore_buf_appendf(b, "# HELP elenchus_db_pool_connections_max "
	    "Connections the workers may open (pgsql_conn_max each).\n"
	    "# TYPE elenchus_db_pool_connections_max gauge\n"
	    "elenchus_db_pool_connections_max %llu\n"
	    "# HELP elenchus_db_pool_connections_busy "
	    "Statements in flight on the pipelined connections.\n"
	    "# TYPE elenchus_db_pool_connections_busy gauge\n"
	    "elenchus_db_pool_connections_busy %lld\n"
	    "# HELP elenchus_db_pool_waiting "
	    "Statements waiting because every connection is full.\n"
	    "# TYPE elenchus_db_pool_waiting gauge\n"
	    "elenchus_db_pool_waiting %llu\n",
	    (unsigned long long)pgsql_conn_max * worker_count,
	    (long long)(busy < 0 ? 0 : busy), (unsigned long long)waiting);
}

/* This worker's slot, NULL outside a worker. */
static struct metrics_worker *
metrics_worker(void)
{
	if (worker == NULL || worker->id >= METRICS_WORKERS)
		return (NULL);
	return (&shm->workers[worker->id]);
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
