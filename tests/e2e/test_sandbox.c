/*
 * The job runner of the instance under test ($E2E_SERVER_LOG names its
 * log) against a process of the same uid without capabilities, as the
 * extractor is: its /proc/<pid>/environ, which holds the secrets, is
 * refused, while a dumpable process of the same uid without capabilities
 * stays readable.  Run as an ordinary user, the refusal is the runner's
 * being non-dumpable; run as root, the kernel also refuses a reader that
 * lacks some capability the runner holds.  And the runner's start-up log
 * says what the extractor's sandbox obtained.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_WAIT_S	20

static int	 log_find(const char *, char *, size_t);
static int	 read_without_caps(pid_t);
static void	 drop_caps(void);
static pid_t	 capless_target(int *);

/* The last log line holding what (NULL: none yet), copied into line. */
static int
log_find(const char *what, char *line, size_t len)
{
	const char	*path = getenv("E2E_SERVER_LOG");
	char		 buf[2048];
	FILE		*f;
	int		 found = 0;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		if (strstr(buf, what) != NULL) {
			(void)snprintf(line, len, "%s", buf);
			found = 1;
		}
	}
	fclose(f);
	return (found);
}

static int
log_wait(const char *what, char *line, size_t len)
{
	time_t	 end = time(NULL) + LOG_WAIT_S;

	while (!log_find(what, line, len)) {
		if (time(NULL) > end)
			return (0);
		(void)usleep(100 * 1000);
	}
	return (1);
}

/* In a child without capabilities: 0 when pid's environ reads, or errno. */
static int
read_without_caps(pid_t pid)
{
	char	 path[64], b;
	int	 fd, status;
	pid_t	 child;

	cr_assert_neq(child = fork(), -1);
	if (child == 0) {
		drop_caps();
		(void)snprintf(path, sizeof(path), "/proc/%d/environ",
		    (int)pid);
		if ((fd = open(path, O_RDONLY)) == -1)
			_exit(errno);
		_exit(read(fd, &b, 1) == 1 ? 0 : 254);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status));
	cr_assert_neq(WEXITSTATUS(status), 255, "capset failed");
	return (WEXITSTATUS(status));
}

/* In a child: no capability left (exit 255 when that fails). */
static void
drop_caps(void)
{
	struct __user_cap_header_struct	 h;
	struct __user_cap_data_struct	 d[_LINUX_CAPABILITY_U32S_3];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capset, &h, d) == -1)
		_exit(255);
}

/* A dumpable process of this uid without capabilities, until *hold closes. */
static pid_t
capless_target(int *hold)
{
	int	 ready[2], wait_on[2];
	char	 b;
	pid_t	 pid;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(wait_on), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		close(ready[0]);
		close(wait_on[1]);
		drop_caps();
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)read(wait_on[0], &b, 1);
		_exit(0);
	}
	close(ready[1]);
	close(wait_on[0]);
	cr_assert_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	*hold = wait_on[1];
	return (pid);
}

Test(sandbox, job_runner_environment_is_unreadable_to_its_uid)
{
	char	 line[2048], comm[64], path[64];
	FILE	*f;
	int	 pid = 0, hold;
	pid_t	 target;
	char	*p;

	cr_assert(log_wait("elenchus-jobs: started:", line, sizeof(line)),
	    "no job runner start in the server log");
	cr_assert_not_null(p = strstr(line, ", pid "), "%s", line);
	pid = atoi(p + 6);
	cr_assert_gt(pid, 0, "%s", line);
	(void)snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	cr_assert_not_null(f = fopen(path, "r"), "job runner %d gone", pid);
	cr_assert_not_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	cr_assert_str_eq(comm, "elenchus-jobs\n");

	/* The control: a dumpable process of the uid is read. */
	target = capless_target(&hold);
	cr_assert_eq(read_without_caps(target), 0);
	close(hold);
	cr_assert_eq(waitpid(target, NULL, 0), target);
	cr_assert_eq(read_without_caps(pid), EACCES);
}

Test(sandbox, job_runner_logs_the_extractor_sandbox)
{
	char	 line[2048];

	cr_assert(log_wait("elenchus-jobs: extractor sandbox:", line,
	    sizeof(line)), "no sandbox line in the server log");
	cr_assert(strstr(line, "no_caps,not_dumpable,seccomp") != NULL,
	    "%s", line);
	cr_log_info("%s", line);
}
