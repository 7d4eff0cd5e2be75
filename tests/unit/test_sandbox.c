/*
 * test_sandbox.c -- the extractor's sandbox (src/lib/sandbox.c).
 *
 * In process: a forked child enters the sandbox and tries what a parser
 * taken over by a hostile file would.  End to end: the extractor's test
 * build (build/tests/elenchus-extract-probe, $EXTRACT_PROBE) run through
 * extract_runv exactly as the job runner runs the extractor, once without
 * the sandbox (-U: everything it tries works, so the refusals below are
 * the sandbox's doing) and once in it.
 */

#define _GNU_SOURCE

#include <criterion/criterion.h>

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "extract.h"
#include "sandbox.h"

#define PROBE_DEFAULT	"build/tests/elenchus-extract-probe"
#define PROBE_TIMEOUT_S	20
#define PROBE_MAX_OUT	(64 * 1024)

/* What the in-process child tried, each an errno (0: it worked). */
enum { T_SOCKET, T_ENVIRON, T_WRITE, T_FORK, T_PTRACE, T_KILL, T_THREAD,
	T_READ, T_N };

static json_t	*probe(int);
static void	 first_var(char *, size_t);
static void	 child_tries(pid_t, int, unsigned int)
		    __attribute__((noreturn));
static void	*thread_main(void *);
static pid_t	 child_start(int *, unsigned int);
static void	 child_check(unsigned int);

static json_t *
probe(int unconfined)
{
	const char	*exe = getenv("EXTRACT_PROBE");
	char		*argv[4], *json = NULL, *err = NULL;
	json_t		*obj;

	argv[0] = (char *)(uintptr_t)(exe != NULL ? exe : PROBE_DEFAULT);
	argv[1] = "-P";
	argv[2] = unconfined ? "-U" : NULL;
	argv[3] = NULL;
	cr_assert_eq(extract_runv(argv, "", 0, PROBE_TIMEOUT_S,
	    PROBE_MAX_OUT, &json, &err), 0, "probe: %s", err);
	obj = json_loads(json, 0, NULL);
	cr_assert_not_null(obj, "probe said: %s", json);
	free(json);
	return (obj);
}

static const char *
field(json_t *obj, const char *key)
{
	const char	*v = json_string_value(json_object_get(obj, key));

	cr_assert_not_null(v, "no %s", key);
	return (v);
}

/* The name of this process's first environment variable. */
static void
first_var(char *buf, size_t len)
{
	FILE	*f;
	size_t	 i = 0;
	int	 c;

	cr_assert_not_null(f = fopen("/proc/self/environ", "r"));
	while (i + 1 < len && (c = fgetc(f)) != EOF && c != '=' && c != '\0')
		buf[i++] = (char)c;
	buf[i] = '\0';
	fclose(f);
	cr_assert_gt(i, 0, "this test needs an environment");
}

Test(sandbox, unconfined_probe_reads_the_parent_and_opens_sockets)
{
	json_t	*r = probe(1);
	char	 first[64];

	first_var(first, sizeof(first));
	cr_assert_str_eq(field(r, "environ"), "ok");
	cr_assert_gt(json_integer_value(json_object_get(r, "environ_bytes")),
	    0);
	cr_assert_str_eq(field(r, "environ_first"), first);
	cr_assert_str_eq(field(r, "socket_inet"), "ok");
	cr_assert_str_eq(field(r, "socket_unix"), "ok");
	/* Past the permission check: only the address is bad. */
	cr_assert_str_eq(field(r, "memory"), strerror(EFAULT));
	cr_assert_str_eq(field(r, "sandbox"), "");
	json_decref(r);
}

Test(sandbox, confined_probe_is_refused_the_parent_and_sockets)
{
	json_t	*r;

	/* As the job runner does at start. */
	cr_assert_eq(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
	r = probe(0);
	cr_assert_str_neq(field(r, "environ"), "ok");
	cr_assert_eq(json_integer_value(json_object_get(r, "environ_bytes")),
	    0);
	cr_assert_str_eq(field(r, "socket_inet"), strerror(EPERM));
	cr_assert_str_eq(field(r, "socket_unix"), strerror(EPERM));
	cr_assert_str_eq(field(r, "memory"), strerror(EPERM));
	cr_assert(strstr(field(r, "sandbox"),
	    "no_caps,not_dumpable,seccomp") != NULL, "%s",
	    field(r, "sandbox"));
	cr_log_info("sandbox: %s; refused: %s", field(r, "sandbox"),
	    field(r, "refused"));
	json_decref(r);
}

Test(sandbox, own_proc_hides_even_a_dumpable_parent)
{
	json_t	*r = probe(0);

	if (strstr(field(r, "sandbox"), "proc") == NULL) {
		cr_log_warn("no pid namespace here (%s): the parent is "
		    "protected by being non-dumpable only",
		    field(r, "refused"));
		json_decref(r);
		cr_skip_test("no own /proc");
	}
	cr_assert_str_eq(field(r, "environ"), strerror(ENOENT));
	json_decref(r);
}

/* --- in process: sandbox_enter itself ---------------------------------- */

static void *
thread_main(void *arg)
{
	return (arg);
}

/* In the sandbox, try each thing and write its errno to fd. */
static void
child_tries(pid_t parent, int fd, unsigned int ns)
{
	struct sandbox_info	 sb;
	pthread_t		 th;
	char			 path[64], b;
	int			 r[T_N], s;
	pid_t			 pid;

	if (sandbox_enter(&sb, ns) == -1)
		_exit(3);
	errno = 0;
	r[T_SOCKET] = (s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ? errno : 0;
	(void)snprintf(path, sizeof(path), "/proc/%d/environ", (int)parent);
	r[T_ENVIRON] = open(path, O_RDONLY) == -1 ? errno : 0;
	r[T_WRITE] = open("/tmp/sandbox-test-must-not-exist",
	    O_WRONLY | O_CREAT, 0600) == -1 ? errno : 0;
	if ((pid = fork()) == 0)
		_exit(0);
	r[T_FORK] = pid == -1 ? errno : 0;
	r[T_PTRACE] = ptrace(PTRACE_ATTACH, parent, NULL, NULL) == -1 ?
	    errno : 0;
	r[T_KILL] = kill(parent, 0) == -1 ? errno : 0;
	r[T_THREAD] = pthread_create(&th, NULL, thread_main, NULL);
	if (r[T_THREAD] == 0)
		(void)pthread_join(th, NULL);
	s = open("/etc/passwd", O_RDONLY);
	r[T_READ] = s == -1 || read(s, &b, 1) != 1 ? errno : 0;
	if (write(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
	_exit(0);
}

/* Fork a child into child_tries; *rd gets the read end of its pipe. */
static pid_t
child_start(int *rd, unsigned int ns)
{
	pid_t	 me = getpid(), pid;
	int	 p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		close(p[0]);
		child_tries(me, p[1], ns);
	}
	close(p[1]);
	*rd = p[0];
	return (pid);
}

/*
 * A non-dumpable parent (as the job runner) and a child in the sandbox,
 * trying the namespaces given.
 */
static void
child_check(unsigned int ns)
{
	int	 r[T_N], fd, status;
	pid_t	 pid;

	cr_assert_eq(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
	pid = child_start(&fd, ns);
	cr_assert_eq(read(fd, r, sizeof(r)), (ssize_t)sizeof(r));
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %d", status);
	cr_assert_eq(r[T_SOCKET], EPERM);
	cr_assert(r[T_ENVIRON] == EACCES || r[T_ENVIRON] == ENOENT,
	    "environ: %s", strerror(r[T_ENVIRON]));
	cr_assert_eq(r[T_WRITE], EACCES);
	cr_assert_eq(access("/tmp/sandbox-test-must-not-exist", F_OK), -1);
	cr_assert_eq(r[T_FORK], EPERM);
	cr_assert_eq(r[T_PTRACE], EPERM);
	cr_assert_eq(r[T_KILL], EPERM);
	cr_assert_eq(r[T_THREAD], 0, "threads: %s", strerror(r[T_THREAD]));
	cr_assert_eq(r[T_READ], 0, "read: %s", strerror(r[T_READ]));
}

Test(sandbox, enter_refuses_sockets_processes_and_writes_but_not_reads)
{
	child_check(SANDBOX_NAMESPACES);
}

/* Where the kernel refuses namespaces (containers): still refused. */
Test(sandbox, without_namespaces_the_same_is_refused)
{
	child_check(0);
}

Test(sandbox, the_caller_ends_as_the_confined_process_ends)
{
	struct sandbox_info	 sb;
	int			 status;
	pid_t			 pid;

	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_enter(&sb, SANDBOX_NAMESPACES) == -1)
			_exit(3);
		(void)raise(SIGXCPU);
		_exit(5);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU,
	    "status %d", status);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_enter(&sb, SANDBOX_NAMESPACES) == -1)
			_exit(3);
		_exit(7);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	    "status %d", status);
}

Test(sandbox, describe_names_what_was_obtained)
{
	char	 buf[SANDBOX_NOTE_LEN];

	cr_assert_str_eq(sandbox_describe(0, buf, sizeof(buf)), "");
	cr_assert_str_eq(sandbox_describe(SANDBOX_NS_USER | SANDBOX_SECCOMP,
	    buf, sizeof(buf)), "user,seccomp");
	cr_assert_str_eq(sandbox_describe(SANDBOX_NS_USER | SANDBOX_SECCOMP,
	    buf, 6), "user");
}
