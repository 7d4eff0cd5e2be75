/*
 * Email senders.  The console sender writes the message as a JSON line
 * on the server log (development and tests).  The SMTP sender hands the
 * message to SMTP_URL (smtp:// with STARTTLS as SMTP_STARTTLS says, or
 * smtps://) with libcurl's SMTP client, from a Kore task thread: the
 * task touches nothing but its job (no Kore allocation, no kore_log),
 * and the job outlives a request that goes away before the server
 * answers (mail_release hands it to the task's completion callback).
 * The message is composed on the worker's thread; the task only reads
 * it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "cfg.h"
#include "curltask.h"
#include "mail.h"

#define MAIL_MSG_MAX		(MAIL_BODY_MAX * 2 + 1024)

static void	mail_console(struct mail_job *, const char *);
static int	mail_line(json_t *);
static void	mail_compose(struct mail_job *, const char *);
static int	mail_smtp_task(struct kore_task *);
static void	mail_task_done(struct kore_task *);
static void	mail_free(struct mail_job *);
static size_t	mail_read(char *, size_t, size_t, void *);
static void	mail_now(char *, size_t);


const char *
mail_provider(void)
{
	return (cfg.email_provider);
}

int
mail_addr_ok(const char *a)
{
	const char	*p, *at;

	if (a == NULL || strlen(a) >= MAIL_ADDR_MAX ||
	    (at = strchr(a, '@')) == NULL || at == a || at[1] == '\0')
		return (0);
	for (p = a; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    *p == '<' || *p == '>' || *p == ',' || *p == '"')
			return (0);
	}
	return (1);
}

struct mail_job *
mail_start(struct http_request *req, const char *to, const char *subject,
    const char *body)
{
	struct mail_job	*job;

	job = kore_calloc(1, sizeof(*job));
	job->req = req;
	(void)kore_strlcpy(job->to, to, sizeof(job->to));
	(void)kore_strlcpy(job->subject, subject, sizeof(job->subject));
	if (!mail_addr_ok(to)) {
		job->result = MAIL_REJECTED;
		(void)kore_strlcpy(job->err, "address not usable in a header",
		    sizeof(job->err));
		return (job);
	}
	if (strcmp(cfg.email_provider, "smtp") != 0) {
		mail_console(job, body);
		return (job);
	}
	if (cfg.smtp_url[0] == '\0') {
		job->result = MAIL_FAILED;
		(void)kore_strlcpy(job->err, "smtp: SMTP_URL not set",
		    sizeof(job->err));
		return (job);
	}
	mail_compose(job, body);

	job->tasked = 1;
	curltask_start(&job->task, mail_smtp_task, mail_task_done, req);
	return (job);
}

int
mail_done(struct mail_job *job)
{
	return (job->result != MAIL_PENDING);
}

void
mail_release(struct mail_job *job)
{
	if (job == NULL)
		return;
	job->req = NULL;
	if (job->tasked) {
		if (kore_task_state(&job->task) != KORE_TASK_STATE_FINISHED)
			return;		/* mail_task_done frees it */
		kore_task_destroy(&job->task);
	}
	mail_free(job);
}

void
mail_log_failure(struct mail_job *job, const char *rid)
{
	char		ts[32];

	mail_now(ts, sizeof(ts));
	(void)mail_line(json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
	    "time", ts, "level", "warning", "event", "email_failed",
	    "provider", cfg.email_provider, "request_id", rid,
	    "smtp_code", (json_int_t)job->smtp_code, "error", job->err));
}

/* The message text holds a code: wipe it before it goes back. */
static void
mail_free(struct mail_job *job)
{
	if (job->msg != NULL) {
		explicit_bzero(job->msg, job->len);
		kore_free(job->msg);
	}
	kore_free(job);
}

static void
mail_now(char *ts, size_t len)
{
	time_t		now;
	struct tm	tm;

	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(ts, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Write line (stolen) and a newline to stdout; 0 on failure. */
static int
mail_line(json_t *line)
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
	explicit_bzero(s, n);
	free(s);
	return (ok);
}

static void
mail_console(struct mail_job *job, const char *body)
{
	char		ts[32];

	mail_now(ts, sizeof(ts));
	if (mail_line(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "time", ts,
	    "event", "email", "provider", "console", "to", job->to,
	    "subject", job->subject, "body", body))) {
		job->result = MAIL_SENT;
	} else {
		job->result = MAIL_FAILED;
		(void)snprintf(job->err, sizeof(job->err), "console: %s",
		    errno_s);
	}
}

/*
 * Headers and body, lines ending in CRLF.  Subject and addresses are
 * ASCII without CR or LF (mail_addr_ok, our own subjects); a body line
 * starting with a dot is sent as is: curl does the SMTP dot-stuffing.
 */
static void
mail_compose(struct mail_job *job, const char *body)
{
	char		date[64], id[33];
	unsigned char	rnd[16];
	const char	*p;
	time_t		now;
	struct tm	tm;
	size_t		i;
	int		n;

	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatal("RAND_bytes failed");
	for (i = 0; i < sizeof(rnd); i++)
		(void)snprintf(id + i * 2, 3, "%02x", rnd[i]);

	job->msg = kore_malloc(MAIL_MSG_MAX);
	n = snprintf(job->msg, MAIL_MSG_MAX, "Date: %s\r\nFrom: %s\r\n"
	    "To: %s\r\nSubject: %s\r\nMessage-ID: <%s@elenchus>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n",
	    date, cfg.smtp_from, job->to, job->subject, id);
	job->len = n > 0 && n < MAIL_MSG_MAX ? (size_t)n : 0;
	for (p = body; *p != '\0' && job->len + 3 < MAIL_MSG_MAX; p++) {
		if (*p == '\n')
			job->msg[job->len++] = '\r';
		if (*p != '\r')
			job->msg[job->len++] = *p;
	}
	job->msg[job->len++] = '\r';
	job->msg[job->len++] = '\n';
}

/* On the worker's main thread, when the task thread closed its end. */
static void
mail_task_done(struct kore_task *t)
{
	struct mail_job	*job = (struct mail_job *)t;

	if (!kore_task_finished(t))
		return;
	if (job->result == MAIL_PENDING) {
		job->result = MAIL_FAILED;
		(void)kore_strlcpy(job->err, "task ended without a result",
		    sizeof(job->err));
	}
	if (job->req != NULL) {
		http_request_wakeup(job->req);
		return;
	}
	kore_task_destroy(t);
	mail_free(job);
}

/*
 * The task thread.  Writes only into its job; allocates only with libc
 * and curl (never Kore's allocator, which is not thread-safe).
 */
static int
mail_smtp_task(struct kore_task *t)
{
	struct mail_job		*job = (struct mail_job *)t;
	struct curl_slist	*rcpt;
	CURL			*c;
	char			 addr[MAIL_ADDR_MAX + 2];
	CURLcode		 rc;
	long			 tls;

	if ((c = curl_easy_init()) == NULL) {
		(void)snprintf(job->err, sizeof(job->err), "curl_easy_init");
		job->result = MAIL_FAILED;
		return (KORE_RESULT_ERROR);
	}
	(void)snprintf(addr, sizeof(addr), "<%s>", job->to);
	if ((rcpt = curl_slist_append(NULL, addr)) == NULL) {
		curl_easy_cleanup(c);
		(void)snprintf(job->err, sizeof(job->err), "out of memory");
		job->result = MAIL_FAILED;
		return (KORE_RESULT_ERROR);
	}
	(void)snprintf(addr, sizeof(addr), "<%s>", cfg.smtp_from);
	if (!strcmp(cfg.smtp_starttls, "required"))
		tls = (long)CURLUSESSL_ALL;
	else if (!strcmp(cfg.smtp_starttls, "try"))
		tls = (long)CURLUSESSL_TRY;
	else
		tls = (long)CURLUSESSL_NONE;

	(void)curl_easy_setopt(c, CURLOPT_URL, cfg.smtp_url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_USE_SSL, tls);
	if (cfg.smtp_username[0] != '\0') {
		(void)curl_easy_setopt(c, CURLOPT_USERNAME, cfg.smtp_username);
		(void)curl_easy_setopt(c, CURLOPT_PASSWORD, cfg.smtp_password);
	}
	(void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	(void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, job);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)MAIL_CONNECT_TIMEOUT_S);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MAIL_TIMEOUT_S);

	rc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &job->smtp_code);
	if (rc == CURLE_OK) {
		job->result = MAIL_SENT;
	} else {
		(void)snprintf(job->err, sizeof(job->err), "smtp: %s (reply "
		    "%ld)", curl_easy_strerror(rc), job->smtp_code);
		/* A 5xx to RCPT TO: this address will never take mail. */
		job->result = rc == CURLE_SEND_ERROR && job->smtp_code >= 500 &&
		    job->smtp_code < 600 ? MAIL_REJECTED : MAIL_FAILED;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return (job->result == MAIL_SENT ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

static size_t
mail_read(char *buf, size_t sz, size_t nm, void *arg)
{
	struct mail_job	*job = arg;
	size_t		 n;

	n = sz * nm;
	if (n > job->len - job->off)
		n = job->len - job->off;
	memcpy(buf, job->msg + job->off, n);
	job->off += n;
	return (n);
}
