/*
 * Provider calls off the event loop.  Each worker starts, on first use,
 * one thread that owns a curl multi handle and runs every provider
 * transfer of the worker concurrently: 200 slow answers are 200 sockets
 * in one poll, not 200 blocked threads or batches of task_threads.
 *
 *   event loop --(incoming list, curl_multi_wakeup)--> provider thread
 *   provider thread --(outgoing events, eventfd)--> event loop
 *
 * The thread touches only its jobs and libc/libcurl/pure code (no Kore
 * allocation, no kore_log): jobs are malloc'd.  A job's reference count
 * changes only on the event loop; the thread's hold on a job ends when
 * the event loop has run its on_done.  Retries (429/5xx/network/cut
 * answers) wait in the thread on a delayed list, honouring Retry-After
 * and Gemini's RetryInfo, within the AI_TIMEOUT_S deadline, and never
 * after text was streamed out.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kore/kore.h>

#include "cfg.h"
#include "curltask.h"
#include "llm_client.h"
#include "metrics.h"
#include "lib/backoff.h"
#include "lib/sse.h"

/* Not one of Kore's KORE_TYPE_*: Kore only calls handle. */
#define LLM_EVT_TYPE		0x4c4c

enum llm_evt_kind {
	LLM_EVT_DELTA = 0,
	LLM_EVT_DONE
};

struct llm_evt {
	struct llm_evt		*next;
	enum llm_evt_kind	 kind;
	struct llm_job		*job;
	char			*text;
	size_t			 len;
};

/* What the provider thread keeps per job (the thread's only). */
struct llm_job_priv {
	struct llm_job		*next;		/* on a list */
	struct llm_request	 req;		/* deep copy */
	struct llm_msg		*msgs;
	char			*system;
	char			*url;
	char			*body;
	size_t			 body_len;
	struct llm_headers	 hdrs;
	u_int64_t		 start_ms;
	u_int64_t		 deadline_ms;
	u_int64_t		 retry_at_ms;

	/* One attempt. */
	CURL			*easy;
	struct curl_slist	*slist;
	long			 status;
	char			*buf;
	size_t			 len;
	size_t			 cap;
	char			 retry_after[BACKOFF_MAX_HEADER_LEN + 1];
	struct sse_parser	 sse;
	int			 sse_on;
	struct llm_stream	 st;
	enum llm_err		 fail;		/* set by a callback */
	struct llm_error	 fail_err;
	int			 got_body;
};

struct llm_client {
	int			 ready;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	CURLM			*multi;
	struct llm_job		*incoming;	/* guarded by lock */
	struct llm_evt		*out_head;	/* guarded by lock */
	struct llm_evt		*out_tail;
	int			 efd;
	struct {
		struct kore_event	evt;
	} ev;
	int			 jobs;		/* event loop's count */

	/* Thread only. */
	struct llm_job		*delayed;
	int			 running;
};

static struct llm_client	llmc;

static void	 llm_client_init(void);
static void	*llm_thread(void *);
static void	 llm_thread_take(void);
static void	 llm_thread_retries(u_int64_t);
static void	 llm_thread_collect(void);
static long	 llm_thread_timeout(u_int64_t);
static void	 llm_attempt_start(struct llm_job *, u_int64_t);
static void	 llm_attempt_end(struct llm_job *, CURLcode);
static void	 llm_attempt_outcome(struct llm_job *, CURLcode);
static enum llm_err llm_attempt_classify(struct llm_job *, CURLcode);
static void	 llm_attempt_reset(struct llm_job *);
static void	 llm_finish(struct llm_job *, enum llm_err);
static void	 llm_post(struct llm_job *, enum llm_evt_kind, const char *,
		    size_t);
static size_t	 llm_on_body(char *, size_t, size_t, void *);
static size_t	 llm_on_header(char *, size_t, size_t, void *);
static int	 llm_on_event(void *, const char *, const char *, size_t);
static void	 llm_events(void *, int);
static void	 llm_job_unref(struct llm_job *);
static void	 llm_job_free(struct llm_job *);
static int	 llm_request_copy(struct llm_job_priv *,
		    const struct llm_request *);
static u_int64_t llm_now_ms(void);

struct llm_job *
llm_job_new(enum llm_provider provider, const struct llm_request *req,
    enum llm_err *rc)
{
	const struct llm_codec	*codec;
	struct llm_job		*job;
	const char		*base, *key;

	if ((codec = llm_codec(provider)) == NULL) {
		*rc = LLM_ERR_INVALID;
		return (NULL);
	}
	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->p = calloc(1, sizeof(*job->p))) == NULL) {
		free(job);
		*rc = LLM_ERR_INVALID;
		return (NULL);
	}
	job->refs = 1;
	job->provider = provider;
	job->stream = req->stream;
	(void)snprintf(job->provider_name, sizeof(job->provider_name), "%s",
	    codec->name);
	(void)snprintf(job->model, sizeof(job->model), "%s",
	    req->model ? req->model : "");
	llm_result_init(&job->res);

	if (provider == LLM_PROVIDER_GEMINI) {
		base = cfg.gemini_base_url;
		key = cfg.gemini_api_key;
	} else {
		base = cfg.openai_base_url;
		key = cfg.openai_api_key;
	}
	if (llm_request_copy(job->p, req) == -1) {
		*rc = LLM_ERR_INVALID;
		llm_job_free(job);
		return (NULL);
	}
	if ((*rc = codec->url(base, &job->p->req, &job->p->url)) != LLM_OK ||
	    (*rc = codec->headers(key, &job->p->req, &job->p->hdrs)) !=
	    LLM_OK ||
	    (*rc = codec->body(&job->p->req, &job->p->body,
	    &job->p->body_len)) != LLM_OK) {
		llm_job_free(job);
		return (NULL);
	}
	return (job);
}

void
llm_job_submit(struct llm_job *job)
{
	if (!llmc.ready)
		llm_client_init();

	job->refs++;
	job->p->start_ms = llm_now_ms();
	job->p->deadline_ms = job->p->start_ms +
	    (u_int64_t)cfg.ai_timeout_s * 1000;
	if (llmc.jobs >= LLM_CLIENT_MAX_JOBS) {
		/* Reported through the event loop like any outcome. */
		llm_error_set(&job->err, LLM_ERR_UPSTREAM_5XX, 0,
		    "too many provider calls in flight");
		job->code = LLM_ERR_UPSTREAM_5XX;
		llmc.jobs++;
		llm_post(job, LLM_EVT_DONE, NULL, 0);
		return;
	}
	llmc.jobs++;
	if (pthread_mutex_lock(&llmc.lock) != 0)
		fatal("llm: mutex");
	job->p->next = llmc.incoming;
	llmc.incoming = job;
	(void)pthread_mutex_unlock(&llmc.lock);
	(void)curl_multi_wakeup(llmc.multi);
}

void
llm_job_release(struct llm_job *job)
{
	if (job != NULL)
		llm_job_unref(job);
}

static void
llm_job_unref(struct llm_job *job)
{
	if (--job->refs == 0)
		llm_job_free(job);
}

static void
llm_job_free(struct llm_job *job)
{
	struct llm_job_priv	*p = job->p;
	size_t			 i;

	if (p != NULL) {
		for (i = 0; i < p->req.nmsgs; i++)
			free((char *)(uintptr_t)p->msgs[i].content);
		free(p->msgs);
		free(p->system);
		free(p->url);
		free(p->body);
		llm_headers_free(&p->hdrs);
		free(p->buf);
		llm_stream_free(&p->st);
		free(p);
	}
	llm_result_free(&job->res);
	free(job);
}

/* A deep copy: parsers estimate usage from the request later. */
static int
llm_request_copy(struct llm_job_priv *p, const struct llm_request *req)
{
	size_t		i;

	p->req = *req;
	p->req.system = NULL;
	p->req.msgs = NULL;
	p->req.nmsgs = 0;
	if (req->system != NULL) {
		if ((p->system = strdup(req->system)) == NULL)
			return (-1);
		p->req.system = p->system;
	}
	if (req->nmsgs == 0)
		return (0);
	if ((p->msgs = calloc(req->nmsgs, sizeof(*p->msgs))) == NULL)
		return (-1);
	p->req.msgs = p->msgs;
	for (i = 0; i < req->nmsgs; i++) {
		p->msgs[i].role = req->msgs[i].role;
		p->msgs[i].content = strdup(req->msgs[i].content ?
		    req->msgs[i].content : "");
		p->req.nmsgs = i + 1;
		if (p->msgs[i].content == NULL)
			return (-1);
	}
	return (0);
}

/* On the event loop, once per worker, after the sandbox is up. */
static void
llm_client_init(void)
{
	sigset_t	all, old;

	curltask_global();
	if (pthread_mutex_init(&llmc.lock, NULL) != 0)
		fatal("llm: mutex init");
	if ((llmc.multi = curl_multi_init()) == NULL)
		fatal("llm: curl_multi_init failed");
	(void)curl_multi_setopt(llmc.multi, CURLMOPT_MAXCONNECTS,
	    (long)LLM_CLIENT_MAX_CONNECTS);
	if ((llmc.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("llm: eventfd: %s", errno_s);
	llmc.ev.evt.type = LLM_EVT_TYPE;
	llmc.ev.evt.flags = 0;
	llmc.ev.evt.handle = llm_events;
	kore_platform_event_schedule(llmc.efd, EPOLLIN, 0, &llmc.ev);

	/* Signals stay with the event loop. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&llmc.thread, NULL, llm_thread, NULL) != 0)
		fatal("llm: cannot start the provider thread");
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	llmc.ready = 1;
}

/* The event loop's side: run callbacks for what the thread reported. */
static void
llm_events(void *arg, int err)
{
	struct llm_evt	*e, *next;
	struct llm_job	*job;
	u_int64_t	 n;

	(void)arg;
	(void)err;
	while (read(llmc.efd, &n, sizeof(n)) == sizeof(n))
		;
	if (pthread_mutex_lock(&llmc.lock) != 0)
		fatal("llm: mutex");
	e = llmc.out_head;
	llmc.out_head = llmc.out_tail = NULL;
	(void)pthread_mutex_unlock(&llmc.lock);

	for (; e != NULL; e = next) {
		next = e->next;
		job = e->job;
		if (e->kind == LLM_EVT_DELTA) {
			if (job->on_delta != NULL)
				job->on_delta(job, e->text, e->len);
		} else {
			llmc.jobs--;
			metrics_llm_call(job->provider_name, job->model,
			    job->code, job->latency_ms,
			    job->code == LLM_OK ? job->res.prompt_tokens : 0,
			    job->code == LLM_OK ?
			    job->res.completion_tokens : 0);
			if (job->code != LLM_OK) {
				kore_log(LOG_NOTICE, "llm %s %s: %s after %d "
				    "tries, %llu ms: %s", job->provider_name,
				    job->model, llm_err_name(job->code),
				    job->tries,
				    (unsigned long long)job->latency_ms,
				    job->err.message);
			}
			if (job->on_done != NULL)
				job->on_done(job);
			llm_job_unref(job);
		}
		free(e->text);
		free(e);
	}
}

/* Either thread: queue an event for the event loop and wake it. */
static void
llm_post(struct llm_job *job, enum llm_evt_kind kind, const char *text,
    size_t len)
{
	struct llm_evt	*e;
	u_int64_t	 one = 1;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->kind = kind;
	e->job = job;
	if (text != NULL) {
		if ((e->text = malloc(len + 1)) == NULL)
			abort();
		memcpy(e->text, text, len);
		e->text[len] = '\0';
		e->len = len;
	}
	if (pthread_mutex_lock(&llmc.lock) != 0)
		abort();
	if (llmc.out_tail != NULL)
		llmc.out_tail->next = e;
	else
		llmc.out_head = e;
	llmc.out_tail = e;
	(void)pthread_mutex_unlock(&llmc.lock);
	while (write(llmc.efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

static void *
llm_thread(void *arg)
{
	u_int64_t	now;
	int		n;

	(void)arg;
	for (;;) {
		llm_thread_take();
		llm_thread_retries(llm_now_ms());
		(void)curl_multi_perform(llmc.multi, &llmc.running);
		llm_thread_collect();
		now = llm_now_ms();
		(void)curl_multi_poll(llmc.multi, NULL, 0,
		    (int)llm_thread_timeout(now), &n);
	}
	return (NULL);
}

/* Start the jobs the event loop handed over. */
static void
llm_thread_take(void)
{
	struct llm_job	*job, *next;
	u_int64_t	 now;

	if (pthread_mutex_lock(&llmc.lock) != 0)
		abort();
	job = llmc.incoming;
	llmc.incoming = NULL;
	(void)pthread_mutex_unlock(&llmc.lock);
	now = llm_now_ms();
	for (; job != NULL; job = next) {
		next = job->p->next;
		job->p->next = NULL;
		llm_attempt_start(job, now);
	}
}

/* Start the delayed retries that are due. */
static void
llm_thread_retries(u_int64_t now)
{
	struct llm_job	*job, **pp;

	for (pp = &llmc.delayed; (job = *pp) != NULL; ) {
		if (job->p->retry_at_ms <= now) {
			*pp = job->p->next;
			job->p->next = NULL;
			llm_attempt_start(job, now);
		} else
			pp = &job->p->next;
	}
}

static long
llm_thread_timeout(u_int64_t now)
{
	struct llm_job	*job;
	long		 t, ct;

	t = LLM_CLIENT_POLL_MAX_MS;
	if (curl_multi_timeout(llmc.multi, &ct) == CURLM_OK && ct >= 0 &&
	    ct < t)
		t = ct;
	for (job = llmc.delayed; job != NULL; job = job->p->next) {
		if (job->p->retry_at_ms <= now)
			return (0);
		if ((long)(job->p->retry_at_ms - now) < t)
			t = (long)(job->p->retry_at_ms - now);
	}
	return (t);
}

static void
llm_thread_collect(void)
{
	CURLMsg		*msg;
	struct llm_job	*job;
	char		*priv;
	int		 left;

	while ((msg = curl_multi_info_read(llmc.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		job = (struct llm_job *)(void *)priv;
		llm_attempt_end(job, msg->data.result);
	}
}

static void
llm_attempt_reset(struct llm_job *job)
{
	struct llm_job_priv	*p = job->p;

	p->status = 0;
	p->len = 0;
	p->retry_after[0] = '\0';
	p->fail = LLM_OK;
	p->got_body = 0;
	if (p->sse_on)
		sse_free(&p->sse);
	p->sse_on = 0;
	llm_stream_free(&p->st);
	llm_stream_init(&p->st);
}

static void
llm_attempt_start(struct llm_job *job, u_int64_t now)
{
	struct llm_job_priv	*p = job->p;
	size_t			 i;
	long			 left;

	llm_attempt_reset(job);
	job->tries++;
	if (now >= p->deadline_ms) {
		llm_error_set(&job->err, LLM_ERR_TIMEOUT, 0,
		    "deadline passed before the call");
		llm_finish(job, LLM_ERR_TIMEOUT);
		return;
	}
	left = (long)(p->deadline_ms - now);

	if ((p->easy = curl_easy_init()) == NULL) {
		llm_error_set(&job->err, LLM_ERR_NETWORK, 0, "curl init");
		llm_finish(job, LLM_ERR_NETWORK);
		return;
	}
	p->slist = NULL;
	for (i = 0; i < p->hdrs.n; i++)
		p->slist = curl_slist_append(p->slist, p->hdrs.h[i]);
	/* No 100-continue round trip for large prompts. */
	p->slist = curl_slist_append(p->slist, "Expect:");

	(void)curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
	(void)curl_easy_setopt(p->easy, CURLOPT_POST, 1L);
	(void)curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, p->body);
	(void)curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)p->body_len);
	(void)curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->slist);
	(void)curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, llm_on_body);
	(void)curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, job);
	(void)curl_easy_setopt(p->easy, CURLOPT_HEADERFUNCTION,
	    llm_on_header);
	(void)curl_easy_setopt(p->easy, CURLOPT_HEADERDATA, job);
	(void)curl_easy_setopt(p->easy, CURLOPT_PRIVATE, (char *)job);
	(void)curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, left);
	(void)curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, left);
	(void)curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "elenchus");
	if (curl_multi_add_handle(llmc.multi, p->easy) != CURLM_OK) {
		curl_easy_cleanup(p->easy);
		curl_slist_free_all(p->slist);
		p->easy = NULL;
		p->slist = NULL;
		llm_error_set(&job->err, LLM_ERR_NETWORK, 0, "curl add");
		llm_finish(job, LLM_ERR_NETWORK);
	}
}

static size_t
llm_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct llm_job		*job = arg;

	(void)backoff_header(ptr, size * nmemb, job->p->retry_after);
	return (size * nmemb);
}

static size_t
llm_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct llm_job		*job = arg;
	struct llm_job_priv	*p = job->p;
	size_t			 n, ncap;
	char			*nb;
	int			 rc;

	n = size * nmemb;
	if (p->status == 0)
		(void)curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE,
		    &p->status);
	p->got_body = 1;

	if (p->status == 200 && job->stream) {
		if (!p->sse_on) {
			sse_init(&p->sse, LLM_MAX_EVENT_BYTES, llm_on_event,
			    job);
			p->sse_on = 1;
		}
		if (p->len + n > LLM_MAX_RESPONSE_BYTES) {
			p->fail = LLM_ERR_TOO_LARGE;
			llm_error_set(&p->fail_err, LLM_ERR_TOO_LARGE, 200,
			    "stream too large");
			return (0);
		}
		p->len += n;	/* counts the stream, keeps nothing */
		rc = sse_feed(&p->sse, ptr, n);
		if (rc == SSE_OK)
			return (n);
		if (p->fail == LLM_OK) {
			p->fail = rc == SSE_ERR_TOO_LARGE ? LLM_ERR_TOO_LARGE :
			    LLM_ERR_MALFORMED;
			llm_error_set(&p->fail_err, p->fail, 200,
			    "bad event stream");
		}
		return (0);
	}

	/* A whole body (answer or error), bounded. */
	if (n > LLM_MAX_RESPONSE_BYTES - p->len) {
		p->fail = LLM_ERR_TOO_LARGE;
		llm_error_set(&p->fail_err, LLM_ERR_TOO_LARGE, (int)p->status,
		    "answer too large");
		return (0);
	}
	if (p->len + n + 1 > p->cap) {
		ncap = p->cap ? p->cap : 4096;
		while (ncap < p->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(p->buf, ncap)) == NULL)
			return (0);
		p->buf = nb;
		p->cap = ncap;
	}
	memcpy(p->buf + p->len, ptr, n);
	p->len += n;
	p->buf[p->len] = '\0';
	return (n);
}

/* One provider SSE event: parse, fold in, pass text on. */
static int
llm_on_event(void *arg, const char *name, const char *data, size_t len)
{
	struct llm_job		*job = arg;
	struct llm_job_priv	*p = job->p;
	struct llm_delta	 d;
	struct llm_error	 e;
	enum llm_err		 rc;

	(void)name;
	rc = llm_codec(job->provider)->parse_event(data, len, &d, &e);
	if (rc != LLM_OK) {
		p->fail = rc;
		p->fail_err = e;
		return (1);
	}
	if ((rc = llm_stream_apply(&p->st, &d)) != LLM_OK) {
		llm_delta_free(&d);
		p->fail = rc;
		llm_error_set(&p->fail_err, rc, 200, "stream too large");
		return (1);
	}
	if (d.text != NULL && d.text[0] != '\0') {
		job->delta_sent = 1;
		llm_post(job, LLM_EVT_DELTA, d.text, strlen(d.text));
	}
	llm_delta_free(&d);
	return (0);
}

static void
llm_attempt_end(struct llm_job *job, CURLcode cc)
{
	struct llm_job_priv	*p = job->p;

	if (p->status == 0)
		(void)curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE,
		    &p->status);
	(void)curl_multi_remove_handle(llmc.multi, p->easy);
	llm_attempt_outcome(job, cc);
	curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->slist);
	p->easy = NULL;
	p->slist = NULL;
}

/* One attempt's outcome: finish the job or put it on the delayed list. */
static void
llm_attempt_outcome(struct llm_job *job, CURLcode cc)
{
	struct llm_job_priv	*p = job->p;
	struct backoff_policy	 bp;
	enum llm_err		 rc;
	long			 delay, left;
	u_int64_t		 now;

	if ((rc = llm_attempt_classify(job, cc)) == LLM_OK) {
		llm_finish(job, LLM_OK);
		return;
	}
	llm_result_free(&job->res);

	/* Text already reached the client: a retry would repeat it. */
	if (job->delta_sent) {
		llm_finish(job, rc);
		return;
	}
	now = llm_now_ms();
	left = now < p->deadline_ms ? (long)(p->deadline_ms - now) : 0;
	backoff_policy_default(&bp);
	delay = backoff_delay(&bp, job->tries, rc, job->err.retry_after_ms,
	    left, backoff_random());
	if (delay == BACKOFF_STOP) {
		llm_finish(job, rc);
		return;
	}
	p->retry_at_ms = now + (u_int64_t)delay;
	p->next = llmc.delayed;
	llmc.delayed = job;
}

/* What one attempt came to: the answer (job->res) or why not. */
static enum llm_err
llm_attempt_classify(struct llm_job *job, CURLcode cc)
{
	struct llm_job_priv	*p = job->p;
	const struct llm_codec	*codec;
	enum llm_err		 rc;

	codec = llm_codec(job->provider);
	llm_error_set(&job->err, LLM_OK, (int)p->status, NULL);

	if (p->fail != LLM_OK) {
		rc = p->fail;
		job->err = p->fail_err;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = LLM_ERR_TIMEOUT;
		llm_error_set(&job->err, rc, (int)p->status,
		    curl_easy_strerror(cc));
	} else if (cc != CURLE_OK) {
		rc = p->got_body && p->status == 200 ? LLM_ERR_TRUNCATED :
		    LLM_ERR_NETWORK;
		llm_error_set(&job->err, rc, (int)p->status,
		    curl_easy_strerror(cc));
	} else if (p->status != 200) {
		codec->classify((int)p->status, p->buf, p->len, &job->err);
		rc = job->err.code;
		job->err.retry_after_ms = backoff_hint(job->err.retry_after_ms,
		    backoff_parse_retry_after(p->retry_after, time(NULL)));
		if (rc == LLM_OK) {
			rc = LLM_ERR_UPSTREAM_5XX;
			job->err.code = rc;
		}
	} else if (job->stream) {
		rc = LLM_OK;
		if (p->sse_on && sse_finish(&p->sse) != SSE_OK)
			rc = LLM_ERR_TRUNCATED;
		if (rc == LLM_OK && p->fail != LLM_OK)
			rc = p->fail;
		if (rc == LLM_OK)
			rc = llm_stream_finish(&p->st, &p->req, &job->res);
		if (rc != LLM_OK)
			llm_error_set(&job->err, rc, 200,
			    "stream ended early");
	} else {
		rc = codec->parse_response(p->buf ? p->buf : "", p->len,
		    &p->req, &job->res, &job->err);
	}
	return (rc);
}

static void
llm_finish(struct llm_job *job, enum llm_err rc)
{
	struct llm_job_priv	*p = job->p;

	job->code = rc;
	if (rc != LLM_OK && job->err.code == LLM_OK)
		llm_error_set(&job->err, rc, (int)p->status, NULL);
	job->latency_ms = llm_now_ms() - p->start_ms;
	if (p->sse_on) {
		sse_free(&p->sse);
		p->sse_on = 0;
	}
	llm_stream_free(&p->st);
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
	llm_post(job, LLM_EVT_DONE, NULL, 0);
}

static u_int64_t
llm_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)ts.tv_sec * 1000 +
	    (u_int64_t)ts.tv_nsec / 1000000);
}
