/*
 * The access log: one JSON line per request, written in batches (at
 * RQ_LOG_FLUSH bytes or every RQ_LOG_MS): one write(2) per request is a
 * syscall too many at tens of thousands of requests a second.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "lib/utf8.h"

#define RQ_LOG_FLUSH		(32 * 1024)
#define RQ_LOG_MS		50
#define RQ_REAL_PRECISION	6	/* duration_ms: JSON_REAL_PRECISION(6) */
#define RQ_REAL_MAX		40

static void	rq_log_flush(void *, u_int64_t);
static size_t	rq_real(char *, size_t, double);

static struct kore_buf	rq_logbuf;

void
rq_log_init(void)
{
	kore_buf_init(&rq_logbuf, RQ_LOG_FLUSH + 4096);
	(void)kore_timer_add(rq_log_flush, RQ_LOG_MS, NULL, 0);
}

/*
 * One JSON line per request, written straight into the log buffer with
 * the keys, order and number format json_dumps gave it (user_id only
 * when authenticated).  A path that is not UTF-8 gets no line, as
 * before (jansson refused it).
 */
void
rq_log(struct http_request *req, struct rq *rq)
{
	static time_t	sec = -1;
	static char	ts[32];
	static size_t	tslen;
	const char	*path;
	char		num[RQ_REAL_MAX];
	struct timespec	now;
	struct tm	tm;
	size_t		n, plen;
	long		ms;

	/* The second's part is made once a second, the milliseconds each. */
	(void)clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != sec) {
		sec = now.tv_sec;
		(void)gmtime_r(&now.tv_sec, &tm);
		tslen = strftime(ts, sizeof(ts) - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	}
	ms = now.tv_nsec / 1000000;
	ts[tslen] = '.';
	ts[tslen + 1] = (char)('0' + ms / 100);
	ts[tslen + 2] = (char)('0' + ms / 10 % 10);
	ts[tslen + 3] = (char)('0' + ms % 10);
	ts[tslen + 4] = 'Z';
	ts[tslen + 5] = '\0';

	path = req->path ? req->path : "";
	plen = strlen(path);
	if (!utf8_valid(path, plen))
		return;

	RQ_LIT(&rq_logbuf, "{\"time\":");
	rq_buf_strz(&rq_logbuf, ts);
	RQ_LIT(&rq_logbuf, ",\"request_id\":");
	rq_buf_strz(&rq_logbuf, rq->id);
	RQ_LIT(&rq_logbuf, ",\"trace_id\":");
	rq_buf_strz(&rq_logbuf, rq->trace.id);
	RQ_LIT(&rq_logbuf, ",\"method\":");
	rq_buf_strz(&rq_logbuf, rq_method_name(req->method));
	RQ_LIT(&rq_logbuf, ",\"path\":");
	rq_buf_str(&rq_logbuf, path, plen);
	n = (size_t)snprintf(num, sizeof(num), "%d", req->status);
	RQ_LIT(&rq_logbuf, ",\"status\":");
	kore_buf_append(&rq_logbuf, num, n);
	n = rq_real(num, sizeof(num),
	    (double)(rq_now_us() - rq->start_us) / 1000.0);
	RQ_LIT(&rq_logbuf, ",\"duration_ms\":");
	kore_buf_append(&rq_logbuf, num, n);
	RQ_LIT(&rq_logbuf, ",\"ip\":");
	rq_buf_strz(&rq_logbuf, rq->ip);
	RQ_LIT(&rq_logbuf, ",\"proto\":");
	rq_buf_strz(&rq_logbuf, rq->proto);
	if (rq->authed) {
		RQ_LIT(&rq_logbuf, ",\"user_id\":");
		rq_buf_strz(&rq_logbuf, rq->user.id);
	}
	RQ_LIT(&rq_logbuf, "}\n");
	if (rq_logbuf.offset >= RQ_LOG_FLUSH)
		rq_log_flush(NULL, 0);
}

/*
 * v as jansson writes a real with JSON_REAL_PRECISION(6): "%.6g", ".0"
 * added when that looks like an integer, the exponent without '+' and
 * leading zeros.  Returns the length written into out (len bytes).
 */
static size_t
rq_real(char *out, size_t len, double v)
{
	char		*e, *d;
	size_t		n;

	n = (size_t)snprintf(out, len, "%.*g", RQ_REAL_PRECISION, v);
	if (n >= len - 2)
		n = len - 3;
	out[n] = '\0';
	if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
		out[n++] = '.';
		out[n++] = '0';
		out[n] = '\0';
	}
	if ((e = strchr(out, 'e')) != NULL) {
		e++;
		d = e + 1;
		if (*e == '-')
			e++;
		while (*d == '0')
			d++;
		if (d != e) {
			memmove(e, d, n - (size_t)(d - out) + 1);
			n -= (size_t)(d - e);
		}
	}
	return (n);
}

void
rq_flush(void)
{
	rq_log_flush(NULL, 0);
}

static void
rq_log_flush(void *arg, u_int64_t now)
{
	ssize_t		r;
	size_t		off;

	(void)arg;
	(void)now;
	for (off = 0; off < rq_logbuf.offset; off += (size_t)r) {
		r = write(STDOUT_FILENO, rq_logbuf.data + off,
		    rq_logbuf.offset - off);
		if (r <= 0)
			break;
	}
	kore_buf_reset(&rq_logbuf);
}
