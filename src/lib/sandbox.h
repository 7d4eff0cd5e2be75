/*
 * sandbox.h -- the extractor's confinement: no_new_privs, namespaces where
 * the kernel allows them, no capabilities, not dumpable, and a seccomp-BPF
 * allow-list.  Entered once, before the first byte of untrusted input is
 * read; it cannot be left.
 */

#ifndef ELENCHUS_SANDBOX_H
#define ELENCHUS_SANDBOX_H

#include <stddef.h>

/* What sandbox_enter obtained (struct sandbox_info.got). */
#define SANDBOX_NO_NEW_PRIVS	0x0001
#define SANDBOX_NS_USER		0x0002
#define SANDBOX_NS_PID		0x0004
#define SANDBOX_NS_NET		0x0008
#define SANDBOX_NS_MNT		0x0010
#define SANDBOX_NS_IPC		0x0020
#define SANDBOX_NS_UTS		0x0040
#define SANDBOX_PROC		0x0080	/* a /proc of its own pid namespace */
#define SANDBOX_NO_CAPS		0x0100	/* every capability dropped */
#define SANDBOX_NOT_DUMPABLE	0x0200
#define SANDBOX_SECCOMP		0x0400

/* Every namespace: what the extractor asks for. */
#define SANDBOX_NAMESPACES	(SANDBOX_NS_USER | SANDBOX_NS_PID | \
				 SANDBOX_NS_NET | SANDBOX_NS_MNT | \
				 SANDBOX_NS_IPC | SANDBOX_NS_UTS)

/* The parts that must hold, or sandbox_enter fails. */
#define SANDBOX_REQUIRED	(SANDBOX_NO_NEW_PRIVS | SANDBOX_NO_CAPS | \
				 SANDBOX_NOT_DUMPABLE | SANDBOX_SECCOMP)

#define SANDBOX_NOTE_LEN	256

struct sandbox_info {
	unsigned int	got;			/* SANDBOX_* flags */
	char		note[SANDBOX_NOTE_LEN];	/* what the kernel refused */
};

/*
 * Confine the calling process, which must be single-threaded, trying the
 * namespaces asked for (SANDBOX_NAMESPACES, or fewer).  When a pid
 * namespace is obtained the process forks: the caller's process only waits
 * and ends as the confined process ends (same exit status, same signal),
 * and sandbox_enter returns in the confined process, pid 2 of the new
 * namespace (pid 1 waits for it), with a /proc that shows nothing else.
 * The waiting processes close stdin and stdout first, so only the
 * confined process holds them.
 * Returns 0; info->note lists the optional parts the kernel refused (for a
 * log line).  Returns -1 when a required part failed (info->note says
 * which): the caller must not go on to read its input.
 */
int		 sandbox_enter(struct sandbox_info *info,
		    unsigned int namespaces);

/* info->got as words ("user,pid,net,...,seccomp"), NUL-terminated. */
const char	*sandbox_describe(unsigned int got, char *buf, size_t len);

#endif /* ELENCHUS_SANDBOX_H */
