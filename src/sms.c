/*
 * SMS senders.  The console sender writes the message as a JSON line on
 * the server log (development and tests).  The Twilio sender POSTs to
 * {TWILIO_BASE_URL}/2010-04-01/Accounts/{SID}/Messages.json with HTTP
 * Basic auth, from a Kore task thread with the blocking curl API: the
 * task touches nothing but its job (no Kore allocation, no kore_log),
 * and the job outlives a request that goes away before the provider
 * answers (sms_release hands it to the task's completion callback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cfg.h"
#include "curltask.h"
#include "sms.h"

#define SMS_URL_MAX		(CONFIG_STR_MAX + 256)
#define SMS_FORM_MAX		(SMS_BODY_MAX * 3 + 256)

struct sms_buf {
	char		*data;
	size_t		len;
	int		overflow;
};

static void	sms_console(struct sms_job *);
static int	sms_line(json_t *);
static int	sms_twilio_task(struct kore_task *);
static void	sms_task_done(struct kore_task *);
static void	sms_twilio_answer(struct sms_job *, const struct sms_buf *);
static int	sms_form_add(CURL *, char *, size_t, const char *,
		    const char *);
static size_t	sms_on_body(char *, size_t, size_t, void *);


const char *
sms_provider(void)
{
	return (cfg.sms_provider);
}

struct sms_job *
sms_start(struct http_request *req, const char *to, const char *body)
{
	struct sms_job	*job;

	job = kore_calloc(1, sizeof(*job));
	job->req = req;
	(void)kore_strlcpy(job->to, to, sizeof(job->to));
	(void)kore_strlcpy(job->body, body, sizeof(job->body));

	if (strcmp(cfg.sms_provider, "twilio") != 0) {
		sms_console(job);
		return (job);
	}
	if (cfg.twilio_account_sid[0] == '\0' ||
	    cfg.twilio_auth_token[0] == '\0' || cfg.twilio_from[0] == '\0') {
		job->result = SMS_FAILED;
		(void)kore_strlcpy(job->err, "twilio: TWILIO_ACCOUNT_SID, "
		    "TWILIO_AUTH_TOKEN or TWILIO_FROM_NUMBER not set",
		    sizeof(job->err));
		return (job);
	}

	job->tasked = 1;
	curltask_start(&job->task, sms_twilio_task, sms_task_done, req);
	return (job);
}

int
sms_done(struct sms_job *job)
{
	return (job->result != SMS_PENDING);
}

void
sms_release(struct sms_job *job)
{
	if (job == NULL)
		return;
	job->req = NULL;
	if (job->tasked) {
		if (kore_task_state(&job->task) != KORE_TASK_STATE_FINISHED)
			return;		/* sms_task_done frees it */
		kore_task_destroy(&job->task);
	}
	explicit_bzero(job->body, sizeof(job->body));
	kore_free(job);
}

/*
 * A failed send as one JSON line on the server log (written at once,
 * unbuffered, like the access log): provider, masked number, request id
 * and the provider's error.  Never the credentials: job->err holds only
 * curl's or the provider's message.
 */
void
sms_log_failure(struct sms_job *job, const char *masked, const char *rid)
{
	char		ts[32];
	time_t		now;
	struct tm	tm;

	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)sms_line(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, "
	    "s:s}", "time", ts, "level", "warning", "event", "sms_failed",
	    "provider", cfg.sms_provider, "to", masked, "request_id", rid,
	    "http_status", (json_int_t)job->http_status,
	    "provider_code", (json_int_t)job->provider_code,
	    "error", job->err));
}

/* Write line (stolen) and a newline to stdout; 0 on failure. */
static int
sms_line(json_t *line)
{
	char		*s;
	size_t		n;
	int		ok;

	s = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (s == NULL)
		return (0);
	n = strlen(s);
	s[n] = '\n';
	ok = write(STDOUT_FILENO, s, n + 1) == (ssize_t)(n + 1);
	free(s);
	return (ok);
}

/* On the worker's main thread, when the task thread closed its end. */
static void
sms_task_done(struct kore_task *t)
{
	struct sms_job	*job = (struct sms_job *)t;

	if (!kore_task_finished(t))
		return;
	if (job->result == SMS_PENDING) {
		job->result = SMS_FAILED;
		(void)kore_strlcpy(job->err, "task ended without a result",
		    sizeof(job->err));
	}
	if (job->req != NULL) {
		http_request_wakeup(job->req);
		return;
	}
	kore_task_destroy(t);
	explicit_bzero(job->body, sizeof(job->body));
	kore_free(job);
}

static void
sms_console(struct sms_job *job)
{
	char		ts[32];
	time_t		now;
	struct tm	tm;

	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (sms_line(json_pack("{s:s, s:s, s:s, s:s, s:s}", "time", ts,
	    "event", "sms", "provider", "console", "to", job->to,
	    "body", job->body))) {
		job->result = SMS_SENT;
	} else {
		job->result = SMS_FAILED;
		(void)snprintf(job->err, sizeof(job->err), "console: %s",
		    errno_s);
	}
}

/*
 * The task thread.  Writes only into its job; allocates only with libc
 * and curl (never Kore's allocator, which is not thread-safe).
 */
static int
sms_twilio_task(struct kore_task *t)
{
	struct sms_job	*job = (struct sms_job *)t;
	struct sms_buf	resp;
	CURL		*c;
	char		url[SMS_URL_MAX], form[SMS_FORM_MAX], *sid;
	CURLcode	rc;
	int		n;

	memset(&resp, 0, sizeof(resp));
	form[0] = '\0';
	if ((c = curl_easy_init()) == NULL) {
		(void)snprintf(job->err, sizeof(job->err), "curl_easy_init");
		job->result = SMS_FAILED;
		return (KORE_RESULT_ERROR);
	}
	sid = curl_easy_escape(c, cfg.twilio_account_sid, 0);
	n = snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/"
	    "Messages.json", cfg.twilio_base_url, sid ? sid : "");
	curl_free(sid);
	if (n < 0 || (size_t)n >= sizeof(url) ||
	    !sms_form_add(c, form, sizeof(form), "To", job->to) ||
	    !sms_form_add(c, form, sizeof(form), "From", cfg.twilio_from) ||
	    !sms_form_add(c, form, sizeof(form), "Body", job->body)) {
		curl_easy_cleanup(c);
		(void)snprintf(job->err, sizeof(job->err), "request too long");
		job->result = SMS_FAILED;
		return (KORE_RESULT_ERROR);
	}

	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	(void)curl_easy_setopt(c, CURLOPT_USERNAME, cfg.twilio_account_sid);
	(void)curl_easy_setopt(c, CURLOPT_PASSWORD, cfg.twilio_auth_token);
	(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)SMS_CONNECT_TIMEOUT_S);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SMS_TIMEOUT_S);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sms_on_body);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "elenchus-sms/1");

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		(void)snprintf(job->err, sizeof(job->err), "twilio: %s",
		    curl_easy_strerror(rc));
		job->result = SMS_FAILED;
	} else {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
		    &job->http_status);
		sms_twilio_answer(job, &resp);
	}
	curl_easy_cleanup(c);
	free(resp.data);
	return (job->result == SMS_SENT ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/*
 * Read Twilio's answer: 201 with the message resource, or an error
 * resource {code, message, more_info, status}.  21211 (invalid To) and
 * 21614 (not a mobile number) are the caller's number, not an outage.
 */
static void
sms_twilio_answer(struct sms_job *job, const struct sms_buf *resp)
{
	json_t		*j;
	const char	*s;

	j = resp->data ? json_loadb(resp->data, resp->len, 0, NULL) : NULL;
	if (job->http_status >= 200 && job->http_status < 300) {
		if ((s = json_string_value(json_object_get(j, "sid"))) != NULL)
			(void)snprintf(job->sid, sizeof(job->sid), "%s", s);
		job->result = SMS_SENT;
		json_decref(j);
		return;
	}
	job->provider_code = json_integer_value(json_object_get(j, "code"));
	s = json_string_value(json_object_get(j, "message"));
	(void)snprintf(job->err, sizeof(job->err), "twilio: HTTP %ld, "
	    "code %ld: %.160s", job->http_status, job->provider_code,
	    s ? s : "(no message)");
	job->result = (job->provider_code == 21211 ||
	    job->provider_code == 21614) ? SMS_REJECTED : SMS_FAILED;
	json_decref(j);
}

/* Append "&key=escaped(value)" to form; 0 when it does not fit. */
static int
sms_form_add(CURL *c, char *form, size_t len, const char *key,
    const char *val)
{
	char		*e;
	size_t		off;
	int		n;

	if ((e = curl_easy_escape(c, val, 0)) == NULL)
		return (0);
	off = strlen(form);
	n = snprintf(form + off, len - off, "%s%s=%s", off ? "&" : "",
	    key, e);
	curl_free(e);
	return (n >= 0 && (size_t)n < len - off);
}

static size_t
sms_on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct sms_buf	*b = arg;
	size_t		n = sz * nm;
	char		*nb;

	if (b->len + n > SMS_RESP_MAX) {
		b->overflow = 1;
		return (0);
	}
	if ((nb = realloc(b->data, b->len + n + 1)) == NULL)
		return (0);
	b->data = nb;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (n);
}
