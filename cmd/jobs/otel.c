/*
 * OpenTelemetry in the job runner: a span per job run (under the
 * traceparent its payload carries, when the request that queued it was
 * traced), a span per provider call under it, and the exporter: one
 * thread that drains the instance's outbox (ELENCHUS_OTEL_OUTBOX, which
 * the server's workers fill too) in batches to the OTLP/HTTP endpoint,
 * with exponential backoff while the collector is away.  A span leaves
 * the outbox only once the collector took it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "jobs.h"
#include "lib/otel.h"

#define JOTEL_BATCH_BYTES	(4 * 1024 * 1024)
#define JOTEL_BACKOFF_MIN_MS	500L
#define JOTEL_BACKOFF_MAX_MS	10000L
#define JOTEL_STEP_MS		50L

/* The job this thread runs, as a span (on: a job is running). */
struct jotel_job {
	int			on;
	struct otel_ctx		ctx;		/* trace, the job's span id */
	uint8_t			parent[OTEL_SPAN_LEN];
	uint64_t		start_ns;
	char			execution_id[40];
	int			step_index;
};

static struct otel_config	 jocfg;
static struct otel_ring		*joring;
static pthread_t		 jothread;
static int			 jorunning;
static volatile int		 jodone;	/* the job threads are over */
static __thread struct jotel_job jojob;

static void	*jotel_export(void *);
static long	 jotel_batch(CURL *, struct curl_slist *, char *, long *);
static int	 jotel_send(CURL *, struct curl_slist *, const char *,
		    size_t, long *);
static void	 jotel_emit(const struct otel_span *);
static void	 jotel_random(uint8_t *, size_t);
static uint64_t	 jotel_now_ns(void);
static const char *jotel_env(const char *);
static size_t	 jotel_discard(char *, size_t, size_t, void *);

int
jotel_init(void)
{
	const char	*what, *path;

	if (otel_config_load(&jocfg, jotel_env, &what) == -1) {
		jlog("%s: not a valid setting", what);
		return (-1);
	}
	if (!jocfg.enabled)
		return (0);
	path = getenv("ELENCHUS_OTEL_OUTBOX");
	if ((joring = otel_ring_map(path)) == NULL) {
		jlog("ELENCHUS_OTEL_OUTBOX %s: cannot map", path);
		return (-1);
	}
	if (pthread_create(&jothread, NULL, jotel_export, NULL) != 0) {
		jlog("otel: pthread_create failed");
		return (-1);
	}
	jorunning = 1;
	jlog("otel: exporting traces to %s", jocfg.url);
	return (0);
}

/* After the job threads stopped: one last batch goes out, then done. */
void
jotel_stop(void)
{
	__atomic_store_n(&jodone, 1, __ATOMIC_RELEASE);
	if (jorunning)
		(void)pthread_join(jothread, NULL);
	jorunning = 0;
}

void
jotel_job_begin(const struct job *j)
{
	struct otel_ctx	 in;
	json_t		*v;

	memset(&jojob, 0, sizeof(jojob));
	jojob.step_index = -1;
	if (joring == NULL)
		return;
	jojob.on = 1;
	jojob.start_ns = jotel_now_ns();
	v = json_object_get(j->payload, "traceparent");
	if (otel_traceparent_parse(json_string_value(v), &in) == 0) {
		memcpy(jojob.ctx.trace_id, in.trace_id, OTEL_TRACE_LEN);
		memcpy(jojob.parent, in.span_id, OTEL_SPAN_LEN);
	} else {
		jotel_random(jojob.ctx.trace_id, OTEL_TRACE_LEN);
	}
	jotel_random(jojob.ctx.span_id, OTEL_SPAN_LEN);
	jojob.ctx.flags = 1;
	v = json_object_get(j->payload, "execution_id");
	if (json_is_string(v))
		(void)snprintf(jojob.execution_id, sizeof(jojob.execution_id),
		    "%s", json_string_value(v));
	v = json_object_get(j->payload, "step_index");
	if (json_is_integer(v))
		jojob.step_index = (int)json_integer_value(v);
}

void
jotel_job_end(const struct job *j, const char *outcome, const char *err)
{
	struct otel_span	sp;

	if (!jojob.on)
		return;
	jojob.on = 0;
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.trace_id, jojob.ctx.trace_id, OTEL_TRACE_LEN);
	memcpy(sp.span_id, jojob.ctx.span_id, OTEL_SPAN_LEN);
	memcpy(sp.parent_id, jojob.parent, OTEL_SPAN_LEN);
	(void)snprintf(sp.namebuf, sizeof(sp.namebuf), "job %s", j->kind);
	sp.name = sp.namebuf;
	sp.kind = OTEL_KIND_CONSUMER;
	sp.start_ns = jojob.start_ns;
	sp.end_ns = jotel_now_ns();
	if (strcmp(outcome, "done") != 0 && strcmp(outcome, "released")) {
		sp.status = OTEL_STATUS_ERROR;
		sp.status_message = err;
	}
	otel_attr_str(&sp, "elenchus.job.id", j->id);
	otel_attr_str(&sp, "elenchus.job.kind", j->kind);
	otel_attr_int(&sp, "elenchus.job.attempt", j->attempts);
	otel_attr_str(&sp, "elenchus.job.outcome", outcome);
	if (jojob.execution_id[0] != '\0')
		otel_attr_str(&sp, "elenchus.execution_id",
		    jojob.execution_id);
	if (jojob.step_index >= 0)
		otel_attr_int(&sp, "elenchus.step_index", jojob.step_index);
	jotel_emit(&sp);
}

/* A provider call of this thread's job (or a root span outside one). */
void
jotel_llm(struct otel_llm *l, const struct llm_request *req)
{
	struct otel_span	 sp;
	struct otel_ctx		 root;
	const struct otel_ctx	*parent;
	uint8_t			 id[OTEL_SPAN_LEN];
	json_t			*msgs;
	char			*prompt = NULL;
	size_t			 i;

	if (joring == NULL)
		return;
	if (jojob.on) {
		parent = &jojob.ctx;
		if (l->execution_id == NULL && jojob.execution_id[0])
			l->execution_id = jojob.execution_id;
		if (l->step_index < 0)
			l->step_index = jojob.step_index;
	} else {
		memset(&root, 0, sizeof(root));
		jotel_random(root.trace_id, OTEL_TRACE_LEN);
		parent = &root;
	}
	if (jocfg.capture_content) {
		msgs = json_array();
		if (req->system != NULL)
			(void)json_array_append_new(msgs, json_pack("{s:s, s:s}",
			    "role", "system", "content", req->system));
		for (i = 0; i < req->nmsgs; i++)
			(void)json_array_append_new(msgs, json_pack(
			    "{s:s, s:s?}", "role", req->msgs[i].role ==
			    LLM_ROLE_ASSISTANT ? "assistant" : "user",
			    "content", req->msgs[i].content));
		prompt = json_dumps(msgs, JSON_COMPACT);
		json_decref(msgs);
		l->prompt = prompt;
	}
	jotel_random(id, sizeof(id));
	otel_genai_span(&sp, parent, id, l, jocfg.capture_content);
	jotel_emit(&sp);
	free(prompt);
}

static void
jotel_emit(const struct otel_span *sp)
{
	char	*json;
	size_t	 len;

	if ((json = otel_span_json(sp, &len)) == NULL)
		return;
	(void)otel_ring_put(joring, json, len);
	free(json);
}

/*
 * Peek a batch, send it, commit it once the collector answered 2xx.
 * Network errors, 408, 429 and 5xx keep the batch and back off; any
 * other answer drops it (it would never be taken).
 */
static void *
jotel_export(void *arg)
{
	struct curl_slist	*hl = NULL;
	CURL			*cu;
	char			*buf;
	long			 wait_ms, backoff, waited;
	int			 i, last;
	struct timespec		 step;

	(void)arg;
	step.tv_sec = 0;
	step.tv_nsec = JOTEL_STEP_MS * 1000000L;
	if ((buf = malloc(JOTEL_BATCH_BYTES)) == NULL ||
	    (cu = curl_easy_init()) == NULL) {
		free(buf);
		jlog("otel: exporter cannot start");
		return (NULL);
	}
	hl = curl_slist_append(hl, "Content-Type: application/json");
	for (i = 0; i < jocfg.nheaders; i++)
		hl = curl_slist_append(hl, jocfg.headers[i]);
	backoff = 0;
	last = 0;
	for (;;) {
		wait_ms = jotel_batch(cu, hl, buf, &backoff);
		if (last)
			break;
		for (waited = 0; waited < wait_ms && !jodone;
		    waited += JOTEL_STEP_MS)
			(void)nanosleep(&step, NULL);
		if (jodone)
			last = 1;	/* one more pass: what the jobs left */
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(cu);
	free(buf);
	return (NULL);
}

/*
 * Send the next batch from the outbox (buf: JOTEL_BATCH_BYTES); the
 * milliseconds to wait before the next, with *backoff while the
 * collector is unreachable.
 */
static long
jotel_batch(CURL *cu, struct curl_slist *hl, char *buf, long *backoff)
{
	char		*body;
	size_t		 n, len, blen;
	uint64_t	 taken;
	long		 status, wait_ms;
	int		 rc;

	n = otel_ring_peek(joring, buf, JOTEL_BATCH_BYTES,
	    (size_t)jocfg.batch_max, &len, &taken);
	if (n == 0 && taken > 0)
		otel_ring_commit(joring, taken, 0);
	wait_ms = jocfg.schedule_delay_ms;
	if (n == 0)
		return (wait_ms);
	body = otel_batch_json(jocfg.service_name, cfg.version, buf, len,
	    &blen);
	status = 0;
	rc = body != NULL ? jotel_send(cu, hl, body, blen, &status) : 1;
	free(body);
	if (rc == 0 || rc == 1) {
		if (rc == 1)
			jlog("otel: collector refused a batch of %zu spans "
			    "(%ld): dropped", n, status);
		else if (*backoff > 0)
			jlog("otel: collector back, exporting");
		otel_ring_commit(joring, taken, n);
		*backoff = 0;
		return (n == (size_t)jocfg.batch_max ? 0 : wait_ms);
	}
	if (*backoff == 0)
		jlog("otel: collector unreachable (%ld): keeping spans, "
		    "retrying", status);
	*backoff = *backoff ? *backoff * 2 : JOTEL_BACKOFF_MIN_MS;
	if (*backoff > JOTEL_BACKOFF_MAX_MS)
		*backoff = JOTEL_BACKOFF_MAX_MS;
	/* Full jitter over the upper half. */
	return (*backoff / 2 + (long)(random() % (*backoff / 2 + 1)));
}

/* 0: taken; 1: refused for good; -1: try again later. */
static int
jotel_send(CURL *cu, struct curl_slist *hl, const char *body, size_t len,
    long *status)
{
	CURLcode	cc;

	*status = 0;
	(void)curl_easy_setopt(cu, CURLOPT_URL, jocfg.url);
	(void)curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
	(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	(void)curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, jocfg.timeout_ms);
	(void)curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS,
	    jocfg.timeout_ms);
	(void)curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, jotel_discard);
	(void)curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(cu);
	(void)curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
	if (cc != CURLE_OK)
		return (-1);
	if (*status >= 200 && *status < 300)
		return (0);
	if (*status == 408 || *status == 429 || *status >= 500)
		return (-1);
	return (1);
}

static size_t
jotel_discard(char *p, size_t sz, size_t nm, void *arg)
{
	(void)p;
	(void)arg;
	return (sz * nm);
}

static void
jotel_random(uint8_t *b, size_t n)
{
	do {
		if (RAND_bytes(b, (int)n) != 1)
			memset(b, 0x5a, n);
	} while (otel_id_zero(b, n));
}

static uint64_t
jotel_now_ns(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

static const char *
jotel_env(const char *name)
{
	return (getenv(name));
}
