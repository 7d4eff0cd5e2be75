/*
 * main.c -- elenchus-extract: read one uploaded file, write its text as
 * JSON on stdout.
 *
 * The server never parses documents itself: it runs this program through
 * extract_run() with a wall-clock timeout.  The program first caps its own
 * memory, CPU time, file writes and descriptors, so a zip bomb, a PDF that
 * loops or a parser crash ends this process only; then it enters its
 * sandbox (src/lib/sandbox.c: namespaces, no capabilities, seccomp), so a
 * parser bug taken over by a hostile file reaches neither the network nor
 * another process.
 *
 * usage: elenchus-extract [-m MiB] [-c seconds] [-n files]
 *            [-t pdf|docx|txt|md|docx-xml] [-N name] [file]
 *        elenchus-extract -S       (what the sandbox obtained, as JSON)
 * Output: {"file_type", "page_count", "pages": [{"page", "text"}] (PDF) or
 * "text" (others), "has_text", "warnings"}; on failure {"error"} and exit
 * status XT_EXIT_FAIL.
 */

#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "extract.h"
#include "extractor.h"
#include "sandbox.h"
#include "sniff.h"

/* Default limits; each can be changed on the command line. */
#define XT_LIMIT_AS_MIB		512	/* address space */
#define XT_LIMIT_CPU_S		20	/* CPU seconds, then SIGXCPU */
#define XT_LIMIT_NOFILE		32	/* open descriptors */
/* Largest input read; uploads are capped well below this. */
#define XT_MAX_INPUT		(64 * 1024 * 1024)
#define XT_READ_CHUNK		(64 * 1024)
/* -P and -U exist in the test build only (tests/unit/extract_probe.c). */
#if defined(XT_PROBE)
#define XT_GETOPT		"c:m:n:N:St:PU"
#else
#define XT_GETOPT		"c:m:n:N:St:"
#endif

struct xt_opts {
	unsigned long	 as_mib;
	unsigned long	 cpu_s;
	unsigned long	 nofile;
	const char	*type;
	const char	*name;
	const char	*path;
	int		 status;	/* -S: report the sandbox, read nothing */
	int		 probe;		/* -P (test build): xt_probe */
	int		 unconfined;	/* -U (test build): no sandbox */
};

static void	xt_options(int, char *[], struct xt_opts *);
static void	xt_usage(void) __attribute__((noreturn));
static void	xt_fail(const char *) __attribute__((noreturn));
static int	xt_number(const char *, unsigned long, unsigned long *);
static int	xt_limits(const struct xt_opts *, char *);
static void	xt_confine(const struct xt_opts *, struct sandbox_info *);
static int	xt_status(const struct sandbox_info *);
static int	xt_read(const char *, char **, size_t *, char *);
static int	xt_extract(const struct xt_opts *, const char *, size_t,
		    json_t **, char *);
static int	xt_type(const struct xt_opts *, const char *, size_t);

#if defined(__SANITIZE_ADDRESS__)
/*
 * Sanitizer builds only (the tests): poppler, GLib and fontconfig keep
 * caches until exit, which LeakSanitizer would turn into a failing exit
 * (and its leak check needs ptrace, which the sandbox refuses).
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return ("detect_leaks=0");
}
#endif

int
main(int argc, char *argv[])
{
	struct xt_opts	 o;
	struct sandbox_info sb;
	json_t		*obj = NULL;
	char		 err[XT_ERRLEN];
	char		*data, *out;
	size_t		 len;
	pid_t		 ppid;
	int		 rc;

	xt_options(argc, argv, &o);
	if (xt_limits(&o, err) == -1)
		xt_fail(err);
	ppid = getppid();
	xt_confine(&o, &sb);
	if (o.status)
		return (xt_status(&sb));
#if defined(XT_PROBE)
	if (o.probe)
		return (xt_probe(ppid, &sb));
#endif
	(void)ppid;
	if (xt_read(o.path, &data, &len, err) == -1)
		xt_fail(err);
	xmlInitParser();
	rc = xt_extract(&o, data, len, &obj, err);
	free(data);
	if (rc == -1)
		xt_fail(err);
	if ((out = extract_json_finish(obj)) == NULL)
		xt_fail("out of memory");
	if (fputs(out, stdout) == EOF || fflush(stdout) == EOF) {
		free(out);
		return (XT_EXIT_FAIL);
	}
	free(out);
	return (XT_EXIT_OK);
}

static void
xt_options(int argc, char *argv[], struct xt_opts *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->as_mib = XT_LIMIT_AS_MIB;
	o->cpu_s = XT_LIMIT_CPU_S;
	o->nofile = XT_LIMIT_NOFILE;
	while ((ch = getopt(argc, argv, XT_GETOPT)) != -1) {
		switch (ch) {
		case 'c':
			if (xt_number(optarg, 3600, &o->cpu_s) == -1)
				xt_usage();
			break;
		case 'm':
			if (xt_number(optarg, 1UL << 20, &o->as_mib) == -1)
				xt_usage();
			break;
		case 'n':
			if (xt_number(optarg, 1024, &o->nofile) == -1 ||
			    o->nofile < 4)
				xt_usage();
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'S':
			o->status = 1;
			break;
		case 't':
			o->type = optarg;
			break;
		case 'P':
			o->probe = 1;
			break;
		case 'U':
			o->unconfined = 1;
			break;
		default:
			xt_usage();
		}
	}
	if (argc - optind > 1)
		xt_usage();
	o->path = optind < argc ? argv[optind] : NULL;
}

/*
 * The sandbox (sandbox.h), before any byte of the input is read.  Only
 * the test build can run without it (-U, the probe's control case).
 */
static void
xt_confine(const struct xt_opts *o, struct sandbox_info *sb)
{
	char	 msg[XT_ERRLEN];

	memset(sb, 0, sizeof(*sb));
	if (o->unconfined)
		return;
	if (sandbox_enter(sb, SANDBOX_NAMESPACES) == -1) {
		(void)snprintf(msg, sizeof(msg), "sandbox: %.200s", sb->note);
		xt_fail(msg);
	}
	/* The extractor's stderr is /dev/null under the runner. */
	if (sb->note[0] != '\0')
		fprintf(stderr, "elenchus-extract: sandbox without: %s\n",
		    sb->note);
}

/* -S: what the sandbox obtained, for the job runner's start-up log. */
static int
xt_status(const struct sandbox_info *sb)
{
	char	 got[SANDBOX_NOTE_LEN];
	json_t	*obj;
	char	*out;

	obj = json_pack("{s:s, s:s}", "sandbox",
	    sandbox_describe(sb->got, got, sizeof(got)), "refused", sb->note);
	if (obj == NULL || (out = json_dumps(obj, JSON_COMPACT)) == NULL)
		xt_fail("out of memory");
	json_decref(obj);
	(void)puts(out);
	free(out);
	return (fflush(stdout) == EOF ? XT_EXIT_FAIL : XT_EXIT_OK);
}

static int
xt_extract(const struct xt_opts *o, const char *data, size_t len,
    json_t **obj, char *err)
{
	int	 t;

	if (o->type != NULL && strcmp(o->type, "docx-xml") == 0)
		return (xt_docx_xml(data, len, obj, err));
	switch ((t = xt_type(o, data, len))) {
	case SNIFF_PDF:
		return (xt_pdf(data, len, obj, err));
	case SNIFF_DOCX:
		return (xt_docx(data, len, obj, err));
	case SNIFF_TXT:
	case SNIFF_MD:
		return (xt_text(data, len, sniff_type_name(t), obj, err));
	default:
		snprintf(err, XT_ERRLEN, len == 0 ? "empty file" :
		    "unsupported file type");
		return (-1);
	}
}

/* The type given with -t, else the one the content (and -N name) shows. */
static int
xt_type(const struct xt_opts *o, const char *data, size_t len)
{
	struct sniff_info si;
	enum sniff_type	 t;

	if (o->type == NULL) {
		t = sniff_content(data, len);
		if (t == SNIFF_TXT && o->name != NULL) {
			sniff_detect(data, len, o->name, &si);
			if (si.type == SNIFF_MD)
				t = SNIFF_MD;
		}
		return (t);
	}
	if (strcmp(o->type, "pdf") == 0)
		return (SNIFF_PDF);
	if (strcmp(o->type, "docx") == 0)
		return (SNIFF_DOCX);
	if (strcmp(o->type, "txt") == 0)
		return (SNIFF_TXT);
	if (strcmp(o->type, "md") == 0)
		return (SNIFF_MD);
	xt_usage();
}

/*
 * Limits first, before any byte of the file is looked at.  No core files,
 * no file writes (SIGXFSZ ignored so a write fails instead of killing us
 * with a misleading signal), CPU soft limit then SIGKILL a second later.
 * no_new_privs and the rest come with the sandbox (xt_confine).
 */
static int
xt_limits(const struct xt_opts *o, char *err)
{
	struct rlimit	 rl;

	(void)signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
	    setrlimit(RLIMIT_FSIZE, &rl) == -1)
		goto fail;
	rl.rlim_cur = o->cpu_s;
	rl.rlim_max = o->cpu_s + 1;
	if (setrlimit(RLIMIT_CPU, &rl) == -1)
		goto fail;
	rl.rlim_cur = rl.rlim_max = o->nofile;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		goto fail;
#if !defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer reserves terabytes of shadow address space. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)o->as_mib * 1024 * 1024;
	if (setrlimit(RLIMIT_AS, &rl) == -1)
		goto fail;
#endif
	return (0);
fail:
	snprintf(err, XT_ERRLEN, "setrlimit: %s", strerror(errno));
	return (-1);
}

/* Read the whole input (path, or stdin when NULL), at most XT_MAX_INPUT. */
static int
xt_read(const char *path, char **data, size_t *len, char *err)
{
	char	*buf = NULL, *nb;
	size_t	 n = 0, cap = 0;
	ssize_t	 r;
	int	 fd = STDIN_FILENO;

	*data = NULL;
	*len = 0;
	if (path != NULL && (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, XT_ERRLEN, "open: %s", strerror(errno));
		return (-1);
	}
	for (;;) {
		if (n == cap) {
			if (n > XT_MAX_INPUT) {
				snprintf(err, XT_ERRLEN, "input too large");
				goto fail;
			}
			cap = cap == 0 ? XT_READ_CHUNK : cap * 2;
			if (cap > XT_MAX_INPUT + 1)
				cap = XT_MAX_INPUT + 1;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, XT_ERRLEN, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, XT_ERRLEN, "read: %s", strerror(errno));
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > XT_MAX_INPUT) {
		snprintf(err, XT_ERRLEN, "input too large");
		goto fail;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return (0);
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return (-1);
}

static int
xt_number(const char *s, unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max)
		return (-1);
	*out = v;
	return (0);
}

static void
xt_fail(const char *msg)
{
	char	*out;

	if ((out = extract_json_error(msg)) != NULL) {
		fputs(out, stdout);
		fflush(stdout);
		free(out);
	}
	exit(XT_EXIT_FAIL);
}

static void
xt_usage(void)
{
	fprintf(stderr, "usage: elenchus-extract [-c cpu_s] [-m as_mib] "
	    "[-n nofile] [-N name]\n"
	    "       [-t pdf|docx|txt|md|docx-xml] [file]\n"
	    "       elenchus-extract -S\n");
	exit(XT_EXIT_USAGE);
}
