/*
 * extract.c -- the pure side of text extraction, and the runner.
 *
 * Parsing PDFs and DOCX files is done by a separate program,
 * elenchus-extract, under resource limits, so a hostile file can at worst
 * kill that process.  This file holds what both sides share and what can
 * be tested in-process: text normalisation, the JSON answer (built by the
 * extractor, parsed by the server) and extract_run, which spawns the
 * extractor, feeds it the file and bounds its time and output.
 */

#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extract.h"
#include "utf8.h"

/* Initial size of the child's output buffer. */
#define RUN_OUT_INITIAL		(64 * 1024)
/* Largest single write to the child's stdin. */
#define RUN_WRITE_CHUNK		(64 * 1024)
/* Warning for a document that is not a PDF and holds no text. */
#define EXTRACT_WARN_EMPTY	"no_text"

/* One run of the extractor (extract_runv). */
struct run {
	const unsigned char	*src;		/* input, len bytes */
	size_t			 len;
	size_t			 off;		/* written so far */
	int			 in;		/* to the child's stdin */
	int			 out;		/* from the child's stdout */
	pid_t			 pid;
	int			 status;	/* its wait status */
	int			 stopped;	/* killed and reaped */
	char			*obuf;		/* its output */
	size_t			 olen;
	size_t			 ocap;
	size_t			 max_out;
	struct timespec		 deadline;
	char			*reason;	/* why it failed, if we know */
};

static int	 is_space_cp(uint32_t);
static char	*xstrdup_printf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static long	 ms_left(const struct timespec *);
static void	 run_kill(pid_t, int *);
static char	*run_reason(int, const char *, size_t);
static int	 run_spawn(char *const [], int, int, pid_t *);
static int	 result_pages(json_t *, struct extract_doc *, char **);
static int	 result_text(json_t *, struct extract_doc *, char **);
static int	 result_warnings(json_t *, struct extract_doc *);
static int	 run_start(char *const [], struct run *, char **);
static void	 run_pump(struct run *);
static void	 run_write(struct run *);
static void	 run_read(struct run *);
static void	 run_stop(struct run *, char *);
static void	 run_reap(struct run *);
static int	 run_result(struct run *, char **, char **);
static void	 run_close(struct run *);

char *
extract_text_normalise(const char *in, size_t len, size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)in;
	char			*out;
	size_t			 i, o, n;
	unsigned int		 cp;

	*outlen = 0;
	/* Worst case: every byte invalid, each becoming a 3-byte U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3)
		return (NULL);
	if ((out = malloc(len * 3 + 1)) == NULL)
		return (NULL);
	i = o = 0;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		n = utf8_decode((const char *)p + i, len - i, &cp);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (cp == '\r') {
			out[o++] = '\n';
			i += (i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		if (cp == '\f' || cp == '\v') {
			out[o++] = '\n';
		} else if (cp < 0x20 && cp != '\t' && cp != '\n') {
			/* Dropped: NUL and other C0 controls. */
		} else {
			memcpy(out + o, p + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

int
extract_has_text(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;
	unsigned int		 cp;

	for (i = 0; i < len; i += n) {
		n = utf8_decode((const char *)p + i, len - i, &cp);
		if (n == 0)
			return (1);
		if (!is_space_cp(cp))
			return (1);
	}
	return (0);
}

json_t *
extract_json_new(const char *file_type)
{
	json_t	*obj;

	obj = json_pack("{s:s, s:n, s:b, s:[]}", "file_type", file_type,
	    "page_count", "has_text", 0, "warnings");
	if (obj != NULL && strcmp(file_type, "pdf") == 0) {
		if (json_object_set_new(obj, "pages", json_array()) == -1) {
			json_decref(obj);
			return (NULL);
		}
	}
	return (obj);
}

int
extract_json_add_page(json_t *obj, const char *text, size_t len)
{
	json_t	*pages, *page, *str;

	if ((pages = json_object_get(obj, "pages")) == NULL)
		return (-1);
	if ((str = json_stringn(text, len)) == NULL)
		return (-1);
	page = json_pack("{s:I, s:o}", "page",
	    (json_int_t)json_array_size(pages) + 1, "text", str);
	if (page == NULL)
		return (-1);
	return (json_array_append_new(pages, page));
}

int
extract_json_set_text(json_t *obj, const char *text, size_t len)
{
	json_t	*str;

	if ((str = json_stringn(text, len)) == NULL)
		return (-1);
	return (json_object_set_new(obj, "text", str));
}

int
extract_json_warn(json_t *obj, const char *warning)
{
	json_t	*w;

	if ((w = json_object_get(obj, "warnings")) == NULL)
		return (-1);
	return (json_array_append_new(w, json_string(warning)));
}

char *
extract_json_finish(json_t *obj)
{
	json_t		*pages, *page, *t;
	size_t		 i;
	int		 has = 0;
	char		*out;

	pages = json_object_get(obj, "pages");
	if (pages != NULL) {
		json_array_foreach(pages, i, page) {
			t = json_object_get(page, "text");
			if (extract_has_text(json_string_value(t),
			    json_string_length(t)))
				has = 1;
		}
		json_object_set_new(obj, "page_count",
		    json_integer((json_int_t)json_array_size(pages)));
	} else if ((t = json_object_get(obj, "text")) != NULL) {
		has = extract_has_text(json_string_value(t),
		    json_string_length(t));
	}
	json_object_set_new(obj, "has_text", json_boolean(has));
	if (!has)
		extract_json_warn(obj, pages != NULL ? EXTRACT_WARN_NO_TEXT :
		    EXTRACT_WARN_EMPTY);
	out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return (out);
}

char *
extract_json_error(const char *msg)
{
	json_t	*obj;
	char	*out;

	if ((obj = json_pack("{s:s}", "error", msg)) == NULL)
		return (NULL);
	out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return (out);
}

int
extract_result_parse(const char *json, size_t len, struct extract_doc *doc,
    char **err)
{
	json_t		*root, *v, *pages;
	json_error_t	 jerr;
	const char	*ft;
	int		 rc;

	memset(doc, 0, sizeof(*doc));
	*err = NULL;
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL) {
		*err = xstrdup_printf("bad extractor output: %s", jerr.text);
		return (-1);
	}
	if (!json_is_object(root)) {
		*err = strdup("bad extractor output: not an object");
		goto fail;
	}
	if ((v = json_object_get(root, "error")) != NULL) {
		*err = strdup(json_is_string(v) ? json_string_value(v) :
		    "extractor error");
		goto fail;
	}
	ft = json_string_value(json_object_get(root, "file_type"));
	if (ft == NULL || strlen(ft) >= sizeof(doc->file_type)) {
		*err = strdup("bad extractor output: file_type");
		goto fail;
	}
	memcpy(doc->file_type, ft, strlen(ft) + 1);
	doc->has_text = json_is_true(json_object_get(root, "has_text"));

	pages = json_object_get(root, "pages");
	if (json_is_array(pages))
		rc = result_pages(pages, doc, err);
	else
		rc = result_text(json_object_get(root, "text"), doc, err);
	if (rc == -1 ||
	    result_warnings(json_object_get(root, "warnings"), doc) == -1)
		goto fail;
	json_decref(root);
	return (0);
fail:
	if (*err == NULL)
		*err = strdup("out of memory");
	json_decref(root);
	extract_doc_free(doc);
	return (-1);
}

/*
 * The pages joined by EXTRACT_PAGE_SEP into doc->text, with the code point
 * where each begins.  0, or -1 with *err (NULL: out of memory).
 */
static int
result_pages(json_t *pages, struct extract_doc *doc, char **err)
{
	json_t		*page, *t;
	size_t		 i, total = 0, cps = 0, k, sl;

	json_array_foreach(pages, i, page) {
		t = json_object_get(page, "text");
		if (!json_is_string(t)) {
			*err = strdup("bad extractor output: page");
			return (-1);
		}
		total += json_string_length(t) + strlen(EXTRACT_PAGE_SEP);
	}
	doc->npages = json_array_size(pages);
	doc->page_count = (int)doc->npages;
	doc->text = malloc(total + 1);
	doc->page_starts = calloc(doc->npages + 1,
	    sizeof(*doc->page_starts));
	if (doc->text == NULL || doc->page_starts == NULL)
		return (-1);
	json_array_foreach(pages, i, page) {
		t = json_object_get(page, "text");
		if (i > 0) {
			sl = strlen(EXTRACT_PAGE_SEP);
			memcpy(doc->text + doc->text_len, EXTRACT_PAGE_SEP, sl);
			doc->text_len += sl;
			cps += sl;	/* ASCII separator */
		}
		doc->page_starts[i] = cps;
		sl = json_string_length(t);
		memcpy(doc->text + doc->text_len, json_string_value(t), sl);
		for (k = 0; k < sl; k++) {
			if ((doc->text[doc->text_len + k] & 0xc0) != 0x80)
				cps++;
		}
		doc->text_len += sl;
	}
	doc->text[doc->text_len] = '\0';
	return (0);
}

/* A document's one text.  0, or -1 with *err (NULL: out of memory). */
static int
result_text(json_t *t, struct extract_doc *doc, char **err)
{
	if (!json_is_string(t)) {
		*err = strdup("bad extractor output: no text");
		return (-1);
	}
	doc->text_len = json_string_length(t);
	if ((doc->text = malloc(doc->text_len + 1)) == NULL)
		return (-1);
	memcpy(doc->text, json_string_value(t), doc->text_len);
	doc->text[doc->text_len] = '\0';
	return (0);
}

/* The warnings that are strings; -1 when out of memory. */
static int
result_warnings(json_t *v, struct extract_doc *doc)
{
	json_t	*t;
	size_t	 i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return (0);
	doc->warnings = calloc(json_array_size(v), sizeof(*doc->warnings));
	if (doc->warnings == NULL)
		return (-1);
	json_array_foreach(v, i, t) {
		if (!json_is_string(t))
			continue;
		if ((doc->warnings[doc->nwarnings] =
		    strdup(json_string_value(t))) == NULL)
			return (-1);
		doc->nwarnings++;
	}
	return (0);
}

void
extract_doc_free(struct extract_doc *doc)
{
	size_t	 i;

	free(doc->text);
	free(doc->page_starts);
	for (i = 0; i < doc->nwarnings; i++)
		free(doc->warnings[i]);
	free(doc->warnings);
	memset(doc, 0, sizeof(*doc));
}

int
extract_run(const char *exe, const void *data, size_t len, int timeout_s,
    size_t max_out, char **json_out, char **err_out)
{
	char	*argv[2];

	/* posix_spawn's argv is not const-qualified; it is not written. */
	argv[0] = (char *)(uintptr_t)exe;
	argv[1] = NULL;
	return (extract_runv(argv, data, len, timeout_s, max_out, json_out,
	    err_out));
}

int
extract_runv(char *const argv[], const void *data, size_t len,
    int timeout_s, size_t max_out, char **json_out, char **err_out)
{
	struct run		 r;
	struct timespec		 zero = { 0, 0 };
	sigset_t		 pipeset, oldmask, pending;
	int			 was_pending, rc;

	*json_out = NULL;
	*err_out = NULL;
	memset(&r, 0, sizeof(r));
	r.src = data;
	r.len = len;
	r.max_out = max_out;
	r.in = r.out = -1;
	r.pid = -1;
	if (run_start(argv, &r, err_out) == -1) {
		run_close(&r);
		return (-1);
	}

	/* A child that stops reading must give EPIPE, not kill us. */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);

	clock_gettime(CLOCK_MONOTONIC, &r.deadline);
	r.deadline.tv_sec += timeout_s;
	run_pump(&r);
	run_reap(&r);

	if (!was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipeset, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	rc = run_result(&r, json_out, err_out);
	run_close(&r);
	if (rc == -1 && *err_out == NULL)
		*err_out = strdup("out of memory");
	return (rc);
}

/*
 * Pipes and the child; our ends non-blocking, the child's closed here.
 * 0, or -1 with *err set.
 */
static int
run_start(char *const argv[], struct run *r, char **err)
{
	int	 in[2], out[2], rc;

	if (pipe2(in, O_CLOEXEC) == -1) {
		*err = xstrdup_printf("spawn: pipe: %s", strerror(errno));
		return (-1);
	}
	r->in = in[1];
	if (pipe2(out, O_CLOEXEC) == -1) {
		close(in[0]);
		*err = xstrdup_printf("spawn: pipe: %s", strerror(errno));
		return (-1);
	}
	r->out = out[0];
	rc = run_spawn(argv, in[0], out[1], &r->pid);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		*err = xstrdup_printf("spawn: %s: %s", argv[0],
		    strerror(rc));
		r->pid = -1;
		if (*err == NULL)
			*err = strdup("out of memory");
		return (-1);
	}
	(void)fcntl(r->in, F_SETFL, O_NONBLOCK);
	(void)fcntl(r->out, F_SETFL, O_NONBLOCK);
	if (r->len == 0) {
		close(r->in);
		r->in = -1;
	}
	return (0);
}

/* Feed the input and collect the output until both end or r->reason. */
static void
run_pump(struct run *r)
{
	struct pollfd	 pfd[2];
	int		 np, ip, op;

	while (r->reason == NULL && (r->in != -1 || r->out != -1)) {
		np = 0;
		ip = op = -1;
		if (r->in != -1) {
			pfd[np].fd = r->in;
			pfd[np].events = POLLOUT;
			ip = np++;
		}
		if (r->out != -1) {
			pfd[np].fd = r->out;
			pfd[np].events = POLLIN;
			op = np++;
		}
		if (ms_left(&r->deadline) <= 0) {
			run_stop(r, strdup("timeout"));
			break;
		}
		if (poll(pfd, np, (int)ms_left(&r->deadline)) == -1) {
			if (errno != EINTR)
				run_stop(r, xstrdup_printf("poll: %s",
				    strerror(errno)));
			continue;
		}
		if (ip != -1 && pfd[ip].revents != 0)
			run_write(r);
		if (op != -1 && pfd[op].revents != 0)
			run_read(r);
	}
}

static void
run_write(struct run *r)
{
	size_t	 w;
	ssize_t	 n;

	w = r->len - r->off < RUN_WRITE_CHUNK ? r->len - r->off :
	    RUN_WRITE_CHUNK;
	n = write(r->in, r->src + r->off, w);
	if (n > 0)
		r->off += (size_t)n;
	/* EPIPE: the child has stopped reading; its exit status will
	   tell why. */
	if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
	    r->off == r->len) {
		close(r->in);
		r->in = -1;
	}
}

/* Read what the child wrote, within max_out. */
static void
run_read(struct run *r)
{
	char	*nb;
	ssize_t	 n;

	if (r->olen == r->ocap) {
		if (r->olen > r->max_out) {
			run_stop(r, strdup("output too large"));
			return;
		}
		r->ocap = r->ocap == 0 ? RUN_OUT_INITIAL : r->ocap * 2;
		if (r->ocap > r->max_out + 1)
			r->ocap = r->max_out + 1;
		if ((nb = realloc(r->obuf, r->ocap + 1)) == NULL) {
			run_stop(r, strdup("out of memory"));
			return;
		}
		r->obuf = nb;
	}
	n = read(r->out, r->obuf + r->olen, r->ocap - r->olen);
	if (n > 0) {
		r->olen += (size_t)n;
		if (r->olen > r->max_out)
			run_stop(r, strdup("output too large"));
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(r->out);
		r->out = -1;
	}
}

/* Give up on the child: why (NULL: out of memory), and kill it. */
static void
run_stop(struct run *r, char *reason)
{
	r->reason = reason != NULL ? reason : strdup("out of memory");
	run_kill(r->pid, &r->status);
	r->stopped = 1;
}

/* Output closed: the child should exit now, within the deadline. */
static void
run_reap(struct run *r)
{
	struct timespec	 ts;
	unsigned int	 backoff_us = EXTRACT_REAP_MIN_US;
	pid_t		 w;

	while (!r->stopped) {
		w = waitpid(r->pid, &r->status, WNOHANG);
		if (w == r->pid)
			break;
		if (w == -1 && errno != EINTR) {
			r->reason = xstrdup_printf("waitpid: %s",
			    strerror(errno));
			break;
		}
		if (ms_left(&r->deadline) <= 0) {
			run_stop(r, strdup("timeout"));
			break;
		}
		/* The child usually exits right after closing stdout. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)backoff_us * 1000;
		(void)nanosleep(&ts, NULL);
		if (backoff_us < EXTRACT_REAP_MAX_US)
			backoff_us *= 2;
	}
}

/* The answer: 0 with the output in *json, or -1 with *err. */
static int
run_result(struct run *r, char **json, char **err)
{
	if (r->reason != NULL) {
		*err = r->reason;
		r->reason = NULL;
		return (-1);
	}
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		*err = run_reason(r->status, r->obuf, r->olen);
		return (-1);
	}
	if (r->obuf == NULL && (r->obuf = malloc(1)) == NULL) {
		*err = strdup("out of memory");
		return (-1);
	}
	r->obuf[r->olen] = '\0';
	*json = r->obuf;
	r->obuf = NULL;
	return (0);
}

static void
run_close(struct run *r)
{
	if (r->in != -1)
		close(r->in);
	if (r->out != -1)
		close(r->out);
	free(r->obuf);
	free(r->reason);
	r->in = r->out = -1;
	r->obuf = r->reason = NULL;
}

/*
 * Start argv[0] with stdin/stdout on the given descriptors, stderr on
 * /dev/null, no other descriptors, default signal dispositions, an empty
 * signal mask and a minimal environment.  Returns 0 or an errno value.
 */
static int
run_spawn(char *const argv[], int fd_in, int fd_out, pid_t *pid)
{
	static char		*envp[] = {
		"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", NULL
	};
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	int				 rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return (rc);
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return (rc);
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_adddup2(&fa, fd_in, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, fd_out, 1)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
	    O_WRONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)) != 0)
		goto out;
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return (rc);
}

static void
run_kill(pid_t pid, int *status)
{
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
}

/* Why a child that did not exit 0 failed, for logs and processing_error. */
static char *
run_reason(int status, const char *out, size_t olen)
{
	json_t		*root;
	const char	*msg = NULL;
	char		*r;

	if (WIFSIGNALED(status)) {
		return (xstrdup_printf("killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGXCPU ?
		    " (cpu time limit)" : ""));
	}
	if (!WIFEXITED(status))
		return (xstrdup_printf("abnormal status %d", status));
	root = out != NULL ? json_loadb(out, olen, 0, NULL) : NULL;
	if (root != NULL)
		msg = json_string_value(json_object_get(root, "error"));
	if (msg != NULL)
		r = xstrdup_printf("exit %d: %.*s", WEXITSTATUS(status),
		    EXTRACT_MAX_ERRMSG, msg);
	else
		r = xstrdup_printf("exit %d", WEXITSTATUS(status));
	json_decref(root);
	return (r);
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000);
}

/* White space for has_text: Unicode spaces, BOM and zero-width space. */
static int
is_space_cp(uint32_t cp)
{
	return ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200b) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000 || cp == 0xfeff);
}

static char *
xstrdup_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return (s);
}
