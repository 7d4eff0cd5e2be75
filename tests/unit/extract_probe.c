/*
 * extract_probe.c -- compiled only into the test build of the extractor
 * (build/tests/elenchus-extract-probe, -DXT_PROBE): `-P` runs xt_probe
 * after the sandbox, `-P -U` without it.  test_sandbox.c runs it through
 * extract_runv, as the job runner runs the real extractor, and asserts
 * that what succeeds unconfined is refused confined.
 */

#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "extractor.h"
#include "sandbox.h"

static const char	*probe_environ(pid_t, char *, size_t, size_t *);
static const char	*probe_socket(int);
static const char	*probe_memory(pid_t);

int
xt_probe(pid_t ppid, const struct sandbox_info *sb)
{
	json_t		*obj;
	char		 first[64], got[SANDBOX_NOTE_LEN];
	const char	*env;
	char		*out;
	size_t		 n = 0;

	first[0] = '\0';
	env = probe_environ(ppid, first, sizeof(first), &n);
	obj = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "environ", env, "environ_bytes", (json_int_t)n,
	    "environ_first", first,
	    "socket_inet", probe_socket(AF_INET),
	    "socket_unix", probe_socket(AF_UNIX),
	    "memory", probe_memory(ppid),
	    "sandbox", sandbox_describe(sb->got, got, sizeof(got)),
	    "refused", sb->note);
	if (obj == NULL || (out = json_dumps(obj, JSON_COMPACT)) == NULL)
		return (XT_EXIT_FAIL);
	json_decref(obj);
	(void)puts(out);
	free(out);
	return (fflush(stdout) == EOF ? XT_EXIT_FAIL : XT_EXIT_OK);
}

/* "ok" with the first variable's name, or why /proc/ppid/environ failed. */
static const char *
probe_environ(pid_t ppid, char *first, size_t len, size_t *n)
{
	char	 path[64], buf[4096];
	ssize_t	 r;
	size_t	 k;
	int	 fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/environ", (int)ppid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (strerror(errno));
	r = read(fd, buf, sizeof(buf));
	close(fd);
	if (r == -1)
		return (strerror(errno));
	*n = (size_t)r;
	for (k = 0; k < (size_t)r && k + 1 < len && buf[k] != '=' &&
	    buf[k] != '\0'; k++)
		first[k] = buf[k];
	first[k] = '\0';
	return ("ok");
}

static const char *
probe_socket(int domain)
{
	int	 fd;

	if ((fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (strerror(errno));
	close(fd);
	return ("ok");
}

/*
 * process_vm_readv from the parent at address 0: past the permission
 * check it fails with EFAULT ("Bad address"); refused, EPERM or ESRCH.
 */
static const char *
probe_memory(pid_t ppid)
{
	struct iovec	 local, remote;
	char		 b;

	local.iov_base = &b;
	local.iov_len = 1;
	remote.iov_base = NULL;
	remote.iov_len = 1;
	if (process_vm_readv(ppid, &local, 1, &remote, 1, 0) == -1)
		return (strerror(errno));
	return ("ok");
}
