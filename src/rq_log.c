/*
 * The access log: one JSON line per request, gathered in a buffer and
 * handed (at RQ_LOG_FLUSH bytes or every RQ_LOG_MS) to a thread of the
 * worker's own that writes it to stdout.  One write(2) per request would
 * be a syscall too many at tens of thousands of requests a second, and
 * any write on the event loop may block it: a file's dirty pages being
 * throttled, a pipe whose reader (journald, a terminal) is slow.  While
 * the writer is busy the loop gathers on; past RQ_LOG_MAX it writes
 * itself, blocking, so that the log loses no line and memory stays
 * bounded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "lib/jsonw.h"
#include "lib/utf8.h"

#define RQ_LOG_FLUSH		(32 * 1024)
#define RQ_LOG_MAX		(8 * 1024 * 1024)
#define RQ_LOG_MS		50
#define RQ_REAL_PRECISION	6	/* duration_ms: JSON_REAL_PRECISION(6) */
#define RQ_REAL_MAX		40

static void	rq_log_flush(void *, u_int64_t);
static void	*rq_log_writer(void *);
static void	rq_log_write(const struct kore_buf *);
static size_t	rq_real(char *, size_t, double);

/*
 * Two buffers: the loop appends to rq_logbuf[rq_logcur]; the other one
 * is the writer's while rq_logbusy, and only then.
 */
static struct kore_buf	rq_logbuf[2];
static int		rq_logcur;
static int		rq_logbusy;
static int		rq_logthread;	/* the writer runs */
static pthread_mutex_t	rq_logmx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	rq_logcv = PTHREAD_COND_INITIALIZER;

void
rq_log_init(void)
{
	pthread_t	t;

	kore_buf_init(&rq_logbuf[0], RQ_LOG_FLUSH + 4096);
	kore_buf_init(&rq_logbuf[1], RQ_LOG_FLUSH + 4096);
	/* Without the thread, the loop writes (as it did before it). */
	if (pthread_create(&t, NULL, rq_log_writer, NULL) == 0) {
		(void)pthread_detach(t);
		rq_logthread = 1;
	} else {
		kore_log(LOG_NOTICE, "access log: no writer thread");
	}
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
	const char	*path;
	char		num[RQ_REAL_MAX], ts[JSONW_TS_MAX];
	struct kore_buf	*b = &rq_logbuf[rq_logcur];
	struct timespec	now;
	u_int64_t	us;
	size_t		n, plen;

	path = req->path ? req->path : "";
	plen = strlen(path);
	if (!utf8_valid(path, plen))
		return;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	(void)jsonw_rfc3339(ts, (int64_t)now.tv_sec * 1000000 +
	    now.tv_nsec / 1000);
	RQ_LIT(b, "{\"time\":");
	rq_buf_strz(b, ts);
	RQ_LIT(b, ",\"request_id\":");
	rq_buf_strz(b, rq->id);
	RQ_LIT(b, ",\"trace_id\":");
	rq_buf_strz(b, rq->trace.id);
	RQ_LIT(b, ",\"method\":");
	rq_buf_strz(b, rq_method_name(req->method));
	RQ_LIT(b, ",\"path\":");
	rq_buf_str(b, path, plen);
	n = (size_t)snprintf(num, sizeof(num), "%d", req->status);
	RQ_LIT(b, ",\"status\":");
	kore_buf_append(b, num, n);
	/* Under 1000 s exactly as "%.6g" writes it, without printf. */
	us = rq_now_us() - rq->start_us;
	if ((n = jsonw_ms(num, sizeof(num), us)) == 0)
		n = rq_real(num, sizeof(num), (double)us / 1000.0);
	RQ_LIT(b, ",\"duration_ms\":");
	kore_buf_append(b, num, n);
	RQ_LIT(b, ",\"ip\":");
	rq_buf_strz(b, rq->ip);
	RQ_LIT(b, ",\"proto\":");
	rq_buf_strz(b, rq->proto);
	if (rq->authed) {
		RQ_LIT(b, ",\"user_id\":");
		rq_buf_strz(b, rq->user.id);
	}
	RQ_LIT(b, "}\n");
	if (b->offset >= RQ_LOG_FLUSH)
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

/* A worker going down: the writer's buffer, then the rest, written out. */
void
rq_flush(void)
{
	(void)pthread_mutex_lock(&rq_logmx);
	while (rq_logbusy)
		(void)pthread_cond_wait(&rq_logcv, &rq_logmx);
	(void)pthread_mutex_unlock(&rq_logmx);
	rq_log_write(&rq_logbuf[rq_logcur]);
	kore_buf_reset(&rq_logbuf[rq_logcur]);
}

/* Timer, or a full buffer: to the writer if it is free. */
static void
rq_log_flush(void *arg, u_int64_t now)
{
	struct kore_buf	*b = &rq_logbuf[rq_logcur];
	int		 handed;

	(void)arg;
	(void)now;
	if (b->offset == 0)
		return;
	handed = 0;
	(void)pthread_mutex_lock(&rq_logmx);
	if (rq_logthread && !rq_logbusy) {
		rq_logbusy = 1;
		rq_logcur ^= 1;
		kore_buf_reset(&rq_logbuf[rq_logcur]);
		(void)pthread_cond_broadcast(&rq_logcv);
		handed = 1;
	}
	(void)pthread_mutex_unlock(&rq_logmx);
	if (!handed && (!rq_logthread || b->offset >= RQ_LOG_MAX)) {
		rq_log_write(b);
		kore_buf_reset(b);
	}
}

/* The writer: each buffer handed over, to stdout, then free again. */
static void *
rq_log_writer(void *arg)
{
	int	w;

	(void)arg;
	(void)pthread_mutex_lock(&rq_logmx);
	for (;;) {
		while (!rq_logbusy)
			(void)pthread_cond_wait(&rq_logcv, &rq_logmx);
		w = rq_logcur ^ 1;
		(void)pthread_mutex_unlock(&rq_logmx);
		rq_log_write(&rq_logbuf[w]);
		(void)pthread_mutex_lock(&rq_logmx);
		rq_logbusy = 0;
		(void)pthread_cond_broadcast(&rq_logcv);
	}
	return (NULL);
}

static void
rq_log_write(const struct kore_buf *b)
{
	ssize_t		r;
	size_t		off;

	for (off = 0; off < b->offset; off += (size_t)r) {
		r = write(STDOUT_FILENO, b->data + off, b->offset - off);
		if (r <= 0)
			break;
	}
}
