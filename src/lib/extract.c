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

static int	 is_space_cp(uint32_t);
static char	*xstrdup_printf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static long	 ms_left(const struct timespec *);
static void	 run_kill(pid_t, int *);
static char	*run_reason(int, const char *, size_t);
static int	 run_spawn(char *const [], int, int, pid_t *);

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
	json_t		*root, *v, *pages, *page, *t;
	json_error_t	 jerr;
	const char	*ft;
	size_t		 i, total, cps, k, sl;

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
	if (json_is_array(pages)) {
		total = 0;
		json_array_foreach(pages, i, page) {
			t = json_object_get(page, "text");
			if (!json_is_string(t)) {
				*err = strdup("bad extractor output: page");
				goto fail;
			}
			total += json_string_length(t) +
			    strlen(EXTRACT_PAGE_SEP);
		}
		doc->npages = json_array_size(pages);
		doc->page_count = (int)doc->npages;
		doc->text = malloc(total + 1);
		doc->page_starts = calloc(doc->npages + 1,
		    sizeof(*doc->page_starts));
		if (doc->text == NULL || doc->page_starts == NULL)
			goto nomem;
		cps = 0;
		json_array_foreach(pages, i, page) {
			t = json_object_get(page, "text");
			if (i > 0) {
				sl = strlen(EXTRACT_PAGE_SEP);
				memcpy(doc->text + doc->text_len,
				    EXTRACT_PAGE_SEP, sl);
				doc->text_len += sl;
				cps += sl;	/* ASCII separator */
			}
			doc->page_starts[i] = cps;
			sl = json_string_length(t);
			memcpy(doc->text + doc->text_len,
			    json_string_value(t), sl);
			for (k = 0; k < sl; k++) {
				if ((doc->text[doc->text_len + k] & 0xc0) !=
				    0x80)
					cps++;
			}
			doc->text_len += sl;
		}
		doc->text[doc->text_len] = '\0';
	} else {
		t = json_object_get(root, "text");
		if (!json_is_string(t)) {
			*err = strdup("bad extractor output: no text");
			goto fail;
		}
		doc->text_len = json_string_length(t);
		if ((doc->text = malloc(doc->text_len + 1)) == NULL)
			goto nomem;
		memcpy(doc->text, json_string_value(t), doc->text_len);
		doc->text[doc->text_len] = '\0';
	}

	v = json_object_get(root, "warnings");
	if (json_is_array(v) && json_array_size(v) > 0) {
		doc->warnings = calloc(json_array_size(v),
		    sizeof(*doc->warnings));
		if (doc->warnings == NULL)
			goto nomem;
		json_array_foreach(v, i, t) {
			if (!json_is_string(t))
				continue;
			if ((doc->warnings[doc->nwarnings] =
			    strdup(json_string_value(t))) == NULL)
				goto nomem;
			doc->nwarnings++;
		}
	}
	json_decref(root);
	return (0);

nomem:
	*err = strdup("out of memory");
fail:
	json_decref(root);
	extract_doc_free(doc);
	return (-1);
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
	const unsigned char	*src = data;
	struct pollfd		 pfd[2];
	struct timespec		 deadline, ts, zero = { 0, 0 };
	sigset_t		 pipeset, oldmask, pending;
	pid_t			 pid = -1;
	int			 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int			 status = 0, np, ip, op, was_pending, rc = -1;
	size_t			 off = 0, olen = 0, ocap = 0, w;
	unsigned int		 backoff_us = EXTRACT_REAP_MIN_US;
	ssize_t			 r;
	char			*obuf = NULL, *nb, *reason = NULL;

	*json_out = NULL;
	*err_out = NULL;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		*err_out = xstrdup_printf("spawn: pipe: %s", strerror(errno));
		goto done;
	}
	if ((errno = run_spawn(argv, in[0], out[1], &pid)) != 0) {
		*err_out = xstrdup_printf("spawn: %s: %s", argv[0],
		    strerror(errno));
		pid = -1;
		goto done;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(in[1]);
		in[1] = -1;
	}

	/* A child that stops reading must give EPIPE, not kill us. */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;

	while (in[1] != -1 || out[0] != -1) {
		np = 0;
		ip = op = -1;
		if (in[1] != -1) {
			pfd[np].fd = in[1];
			pfd[np].events = POLLOUT;
			ip = np++;
		}
		if (out[0] != -1) {
			pfd[np].fd = out[0];
			pfd[np].events = POLLIN;
			op = np++;
		}
		if (ms_left(&deadline) <= 0) {
			reason = strdup("timeout");
			run_kill(pid, &status);
			break;
		}
		if (poll(pfd, np, (int)ms_left(&deadline)) == -1) {
			if (errno == EINTR)
				continue;
			reason = xstrdup_printf("poll: %s", strerror(errno));
			run_kill(pid, &status);
			break;
		}
		if (ip != -1 && pfd[ip].revents != 0) {
			w = len - off < RUN_WRITE_CHUNK ? len - off :
			    RUN_WRITE_CHUNK;
			r = write(in[1], src + off, w);
			if (r > 0)
				off += (size_t)r;
			/* EPIPE: the child has stopped reading; its exit
			   status will tell why. */
			if ((r == -1 && errno != EAGAIN && errno != EINTR) ||
			    off == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (op != -1 && pfd[op].revents != 0) {
			if (olen == ocap) {
				if (olen > max_out) {
					reason = strdup("output too large");
					run_kill(pid, &status);
					break;
				}
				ocap = ocap == 0 ? RUN_OUT_INITIAL : ocap * 2;
				if (ocap > max_out + 1)
					ocap = max_out + 1;
				if ((nb = realloc(obuf, ocap + 1)) == NULL) {
					reason = strdup("out of memory");
					run_kill(pid, &status);
					break;
				}
				obuf = nb;
			}
			r = read(out[0], obuf + olen, ocap - olen);
			if (r > 0) {
				olen += (size_t)r;
				if (olen > max_out) {
					reason = strdup("output too large");
					run_kill(pid, &status);
					break;
				}
			} else if (r == 0 || (errno != EAGAIN &&
			    errno != EINTR)) {
				close(out[0]);
				out[0] = -1;
			}
		}
	}

	/* Output closed: the child should exit now, within the deadline. */
	while (pid != -1 && reason == NULL) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			reason = xstrdup_printf("waitpid: %s",
			    strerror(errno));
			break;
		}
		if (ms_left(&deadline) <= 0) {
			reason = strdup("timeout");
			run_kill(pid, &status);
			break;
		}
		/* The child usually exits right after closing stdout. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)backoff_us * 1000;
		(void)nanosleep(&ts, NULL);
		if (backoff_us < EXTRACT_REAP_MAX_US)
			backoff_us *= 2;
	}

	if (!was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipeset, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	if (reason != NULL) {
		*err_out = reason;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (obuf == NULL && (obuf = malloc(1)) == NULL) {
			*err_out = strdup("out of memory");
			goto done;
		}
		obuf[olen] = '\0';
		*json_out = obuf;
		obuf = NULL;
		rc = 0;
	} else {
		*err_out = run_reason(status, obuf, olen);
	}

done:
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (out[0] != -1)
		close(out[0]);
	if (out[1] != -1)
		close(out[1]);
	free(obuf);
	if (rc == -1 && *err_out == NULL)
		*err_out = strdup("out of memory");
	return (rc);
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
