/*
 * sandbox.c -- confinement of the document extractor (elenchus-extract).
 *
 * The extractor runs poppler, libzip and libxml2 on uploaded bytes, as the
 * same user as the job runner, whose environment holds the database URL,
 * the JWT secret and the provider keys.  A memory bug in one of those
 * libraries must not reach them, nor the network.  So, before the first
 * byte is read:
 *
 *   - no_new_privs: nothing executed later gains privileges, and seccomp
 *     may be installed without CAP_SYS_ADMIN;
 *   - namespaces, each where the kernel allows it (containers often refuse
 *     user namespaces; the others are then tried on their own): user, so
 *     the capabilities held are only the new namespace's; pid, with a
 *     /proc of its own, so no other process of the machine is visible;
 *     net (no interface but a down loopback), ipc, uts, mnt;
 *   - every capability dropped (a root job runner's CAP_SYS_PTRACE would
 *     otherwise read any process's memory and environment);
 *   - not dumpable, so other processes of the uid cannot read it either;
 *   - a seccomp-BPF allow-list: file reads, memory, signals to itself,
 *     threads, time.  No socket, no ptrace, no process_vm_readv, no fork,
 *     no open for writing; anything not listed fails with EPERM.
 *
 * /proc/<pid>/environ of the job runner is refused by the kernel's ptrace
 * access check: the runner is not dumpable (PR_SET_DUMPABLE 0) and the
 * extractor holds no CAP_SYS_PTRACE in the runner's user namespace.  Its
 * own pid namespace and /proc hide the runner and every other process as
 * well (seccomp cannot look at paths, so the path itself is made absent).
 *
 * With a pid namespace the process forks twice: the caller's process waits
 * (it holds no descriptor of the job), pid 1 of the new namespace waits for
 * the worker and reports its wait status on a pipe, and the worker, pid 2,
 * is an ordinary process (pid 1 ignores SIGXCPU and SIGABRT, which the
 * runner relies on), which returns from sandbox_enter.  The waiting process
 * then ends as the worker ended: same exit status, or same signal.
 */

#define _GNU_SOURCE

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

#if defined(__x86_64__)
#define SB_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_ARCH		AUDIT_ARCH_AARCH64
#endif

/* Room for the filter: about two instructions per allowed call. */
#define SB_MAX_INSNS	256
/* Low 32 bits of argument i (little-endian: the kernel reads ints). */
#define SB_ARG(i)	(offsetof(struct seccomp_data, args) + (i) * 8)
#define SB_ERRNO(e)	(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/* open flags that write or create. */
#define SB_OPEN_WRITE	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

struct sb_prog {
	struct sock_filter	f[SB_MAX_INSNS];
	unsigned int		n;
};

static void	sb_note(struct sandbox_info *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sb_namespaces(struct sandbox_info *, unsigned int);
static void	sb_map_ids(uid_t, gid_t);
static int	sb_write_file(const char *, const char *);
static void	sb_pid1(struct sandbox_info *);
static void	sb_init_wait(pid_t, int) __attribute__((noreturn));
static void	sb_outer_wait(pid_t, int) __attribute__((noreturn));
static void	sb_end_like(int) __attribute__((noreturn));
static void	sb_proc(struct sandbox_info *);
static int	sb_drop_caps(void);
static int	sb_seccomp(void);
static void	sb_put(struct sb_prog *, unsigned short, unsigned int,
		    unsigned char, unsigned char);
static void	sb_allow_args(struct sb_prog *, int, int, const unsigned int *,
		    unsigned int);
static void	sb_flag_check(struct sb_prog *, int, int, unsigned int,
		    unsigned int, unsigned int);

/* Calls allowed whatever their arguments. */
static const int sb_allowed[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_lseek,
	SYS_close, SYS_fstat, SYS_newfstatat, SYS_statx, SYS_faccessat,
#ifdef SYS_faccessat2
	SYS_faccessat2,
#endif
	SYS_readlinkat, SYS_getdents64, SYS_fstatfs, SYS_statfs, SYS_fcntl,
	SYS_dup, SYS_dup3, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap,
	SYS_madvise, SYS_brk, SYS_rt_sigaction, SYS_rt_sigprocmask,
	SYS_rt_sigreturn, SYS_sigaltstack, SYS_exit, SYS_exit_group,
	SYS_futex, SYS_set_robust_list, SYS_set_tid_address,
#ifdef SYS_rseq
	SYS_rseq,
#endif
	SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid,
	SYS_getgid, SYS_getegid, SYS_clock_gettime, SYS_clock_getres,
	SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday, SYS_getrandom,
	SYS_uname, SYS_prlimit64, SYS_getrlimit, SYS_getrusage,
	SYS_sched_getaffinity, SYS_sched_yield, SYS_ppoll, SYS_eventfd2,
	SYS_pipe2, SYS_getcwd, SYS_sysinfo, SYS_fadvise64,
	SYS_restart_syscall,
#if defined(__x86_64__)
	SYS_stat, SYS_lstat, SYS_access, SYS_readlink, SYS_poll, SYS_dup2,
	SYS_time, SYS_getdents, SYS_pipe,
#endif
};

/* prctl options allowed: thread names and reading state. */
static const unsigned int sb_prctl_ok[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
	PR_GET_SECCOMP,
#ifdef PR_SET_VMA
	PR_SET_VMA,
#endif
};

int
sandbox_enter(struct sandbox_info *info, unsigned int namespaces)
{
	memset(info, 0, sizeof(*info));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		sb_note(info, "no_new_privs: %s", strerror(errno));
		return (-1);
	}
	info->got |= SANDBOX_NO_NEW_PRIVS;
	sb_namespaces(info, namespaces);
	if (info->got & SANDBOX_NS_PID)
		sb_pid1(info);
	if ((info->got & SANDBOX_NS_PID) && (info->got & SANDBOX_NS_MNT))
		sb_proc(info);
	if (sb_drop_caps() == -1) {
		sb_note(info, "capabilities: %s", strerror(errno));
		return (-1);
	}
	info->got |= SANDBOX_NO_CAPS;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		sb_note(info, "dumpable: %s", strerror(errno));
		return (-1);
	}
	info->got |= SANDBOX_NOT_DUMPABLE;
	if (sb_seccomp() == -1) {
		sb_note(info, "seccomp: %s", strerror(errno));
		return (-1);
	}
	info->got |= SANDBOX_SECCOMP;
	return (0);
}

const char *
sandbox_describe(unsigned int got, char *buf, size_t len)
{
	static const struct {
		unsigned int	 flag;
		const char	*name;
	} names[] = {
		{ SANDBOX_NO_NEW_PRIVS, "no_new_privs" },
		{ SANDBOX_NS_USER, "user" }, { SANDBOX_NS_PID, "pid" },
		{ SANDBOX_NS_NET, "net" }, { SANDBOX_NS_MNT, "mnt" },
		{ SANDBOX_NS_IPC, "ipc" }, { SANDBOX_NS_UTS, "uts" },
		{ SANDBOX_PROC, "proc" }, { SANDBOX_NO_CAPS, "no_caps" },
		{ SANDBOX_NOT_DUMPABLE, "not_dumpable" },
		{ SANDBOX_SECCOMP, "seccomp" },
	};
	size_t	 i, o = 0;
	int	 n;

	if (len == 0)
		return (buf);
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(got & names[i].flag))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? "," : "",
		    names[i].name);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return (buf);
}

static void
sb_note(struct sandbox_info *info, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 o;

	o = strlen(info->note);
	if (o != 0 && o + 2 < sizeof(info->note)) {
		memcpy(info->note + o, "; ", 3);
		o += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(info->note + o, sizeof(info->note) - o, fmt, ap);
	va_end(ap);
}

/*
 * The user namespace first, so the others are owned by it and need no
 * privilege; each of the others on its own, so one refused does not cost
 * the rest.
 */
static void
sb_namespaces(struct sandbox_info *info, unsigned int want)
{
	static const struct {
		int		 flag;
		unsigned int	 got;
		const char	*name;
	} ns[] = {
		{ CLONE_NEWNS, SANDBOX_NS_MNT, "mnt" },
		{ CLONE_NEWPID, SANDBOX_NS_PID, "pid" },
		{ CLONE_NEWNET, SANDBOX_NS_NET, "net" },
		{ CLONE_NEWIPC, SANDBOX_NS_IPC, "ipc" },
		{ CLONE_NEWUTS, SANDBOX_NS_UTS, "uts" },
	};
	uid_t	 uid = geteuid();
	gid_t	 gid = getegid();
	size_t	 i;

	if (!(want & SANDBOX_NS_USER)) {
		/* Not asked for (the tests of the fallback). */
	} else if (unshare(CLONE_NEWUSER) == 0) {
		info->got |= SANDBOX_NS_USER;
		sb_map_ids(uid, gid);
	} else {
		sb_note(info, "user namespace: %s", strerror(errno));
	}
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (!(want & ns[i].got))
			continue;
		if (unshare(ns[i].flag) == 0)
			info->got |= ns[i].got;
		else
			sb_note(info, "%s namespace: %s", ns[i].name,
			    strerror(errno));
	}
}

/* The same ids inside as outside; without a map they read as nobody. */
static void
sb_map_ids(uid_t uid, gid_t gid)
{
	char	 map[64];

	(void)sb_write_file("/proc/self/setgroups", "deny");
	(void)snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid,
	    (unsigned int)uid);
	(void)sb_write_file("/proc/self/uid_map", map);
	(void)snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid,
	    (unsigned int)gid);
	(void)sb_write_file("/proc/self/gid_map", map);
}

static int
sb_write_file(const char *path, const char *s)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = write(fd, s, strlen(s));
	close(fd);
	return (n == (ssize_t)strlen(s) ? 0 : -1);
}

/*
 * Enter the pid namespace: the first child is its pid 1, which forks the
 * worker and waits.  Only the worker returns.  On a fork failure the pid
 * namespace is given up (the caller stays outside it).
 */
static void
sb_pid1(struct sandbox_info *info)
{
	pid_t	 init, worker;
	int	 st[2];

	if (pipe2(st, O_CLOEXEC) == -1 || (init = fork()) == -1) {
		sb_note(info, "pid namespace: fork: %s", strerror(errno));
		info->got &= ~SANDBOX_NS_PID;
		return;
	}
	if (init > 0) {
		close(st[1]);
		sb_outer_wait(init, st[0]);
	}
	close(st[0]);
	/* The waiting process killed (the runner's deadline): end too. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if ((worker = fork()) == -1)
		_exit(127);
	if (worker > 0)
		sb_init_wait(worker, st[1]);
	close(st[1]);
}

/* pid 1: reap the worker, hand its wait status to the waiting process. */
static void
sb_init_wait(pid_t worker, int fd)
{
	int	 status, fdi;

	for (fdi = 0; fdi <= 2; fdi++)
		(void)close(fdi);
	while (waitpid(worker, &status, 0) == -1)
		if (errno != EINTR)
			_exit(127);
	if (write(fd, &status, sizeof(status)) != (ssize_t)sizeof(status))
		_exit(127);
	_exit(0);
}

/* The caller's process: wait for pid 1, then end as the worker did. */
static void
sb_outer_wait(pid_t init, int fd)
{
	int	 status, wstatus;
	ssize_t	 n;

	(void)close(STDIN_FILENO);
	(void)close(STDOUT_FILENO);
	while (waitpid(init, &status, 0) == -1)
		if (errno != EINTR)
			_exit(127);
	do
		n = read(fd, &wstatus, sizeof(wstatus));
	while (n == -1 && errno == EINTR);
	sb_end_like(n == (ssize_t)sizeof(wstatus) ? wstatus : status);
}

static void
sb_end_like(int status)
{
	struct sigaction sa;
	sigset_t	 set;
	int		 sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	if (!WIFSIGNALED(status))
		_exit(127);
	sig = WTERMSIG(status);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(sig, &sa, NULL);
	(void)sigemptyset(&set);
	(void)sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	_exit(128 + sig);
}

/* A /proc of the new pid namespace: the worker and its pid 1 only. */
static void
sb_proc(struct sandbox_info *info)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1) {
		sb_note(info, "own /proc: %s", strerror(errno));
		return;
	}
	info->got |= SANDBOX_PROC;
}

/* Empty bounding, ambient, effective, permitted and inheritable sets. */
static int
sb_drop_caps(void)
{
	struct __user_cap_header_struct	 h;
	struct __user_cap_data_struct	 d[_LINUX_CAPABILITY_U32S_3];
	unsigned int			 i;
	int				 c;

	/* EPERM without CAP_SETPCAP (then none is held), EINVAL past the
	   kernel's last capability. */
	for (c = 0; c < 64; c++)
		(void)prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capset, &h, d) == -1 ||
	    syscall(SYS_capget, &h, d) == -1)
		return (-1);
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (d[i].effective || d[i].permitted || d[i].inheritable) {
			errno = EPERM;
			return (-1);
		}
	}
	return (0);
}

static int
sb_seccomp(void)
{
#if defined(SB_ARCH)
	struct sb_prog		 p;
	struct sock_fprog	 fp;
	unsigned int		 self, i;

	p.n = 0;
	self = (unsigned int)getpid();
	sb_put(&p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch), 0, 0);
	sb_put(&p, BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0);
	sb_put(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	sb_put(&p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr), 0, 0);
#if defined(__x86_64__)
	/* The x32 ABI numbers would bypass every check below. */
	sb_put(&p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	sb_put(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
#endif
	for (i = 0; i < sizeof(sb_allowed) / sizeof(sb_allowed[0]); i++) {
		sb_put(&p, BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned int)sb_allowed[i], 0, 1);
		sb_put(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	}
	/* Files are opened for reading only. */
	sb_flag_check(&p, SYS_openat, 2, SB_OPEN_WRITE, SB_ERRNO(EACCES),
	    SECCOMP_RET_ALLOW);
#if defined(__x86_64__)
	sb_flag_check(&p, SYS_open, 1, SB_OPEN_WRITE, SB_ERRNO(EACCES),
	    SECCOMP_RET_ALLOW);
#endif
	/* Threads (poppler, GLib) but no new process. */
	sb_flag_check(&p, SYS_clone, 0, CLONE_THREAD, SECCOMP_RET_ALLOW,
	    SB_ERRNO(EPERM));
	sb_put(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
	sb_put(&p, BPF_RET | BPF_K, SB_ERRNO(ENOSYS), 0, 0);
	/* Signals to itself only (raise, abort). */
	sb_allow_args(&p, SYS_kill, 0, &self, 1);
	sb_allow_args(&p, SYS_tgkill, 0, &self, 1);
	sb_allow_args(&p, SYS_prctl, 0, sb_prctl_ok,
	    sizeof(sb_prctl_ok) / sizeof(sb_prctl_ok[0]));
	/* isatty() and friends: not a terminal. */
	sb_put(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 1);
	sb_put(&p, BPF_RET | BPF_K, SB_ERRNO(ENOTTY), 0, 0);
	/* Everything else: sockets, ptrace, process_vm_*, fork, exec... */
	sb_put(&p, BPF_RET | BPF_K, SB_ERRNO(EPERM), 0, 0);
	if (p.n > SB_MAX_INSNS) {
		errno = E2BIG;
		return (-1);
	}
	fp.len = (unsigned short)p.n;
	fp.filter = p.f;
	return (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0));
#else
	errno = ENOTSUP;
	return (-1);
#endif
}

/* One instruction; past SB_MAX_INSNS only counted (sb_seccomp refuses). */
static void
sb_put(struct sb_prog *p, unsigned short code, unsigned int k,
    unsigned char jt, unsigned char jf)
{
	if (p->n < SB_MAX_INSNS) {
		p->f[p->n].code = code;
		p->f[p->n].jt = jt;
		p->f[p->n].jf = jf;
		p->f[p->n].k = k;
	}
	p->n++;
}

/* Call nr with argument arg equal to one of v[0..n): allowed; else EPERM. */
static void
sb_allow_args(struct sb_prog *p, int nr, int arg, const unsigned int *v,
    unsigned int n)
{
	unsigned int	 i;

	sb_put(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0,
	    (unsigned char)(n + 3));
	sb_put(p, BPF_LD | BPF_W | BPF_ABS, (unsigned int)SB_ARG(arg), 0, 0);
	for (i = 0; i < n; i++)
		sb_put(p, BPF_JMP | BPF_JEQ | BPF_K, v[i],
		    (unsigned char)(n - i), 0);
	sb_put(p, BPF_RET | BPF_K, SB_ERRNO(EPERM), 0, 0);
	sb_put(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

/* Call nr: action set when argument arg has any of bits, else unset. */
static void
sb_flag_check(struct sb_prog *p, int nr, int arg, unsigned int bits,
    unsigned int set, unsigned int unset)
{
	sb_put(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 4);
	sb_put(p, BPF_LD | BPF_W | BPF_ABS, (unsigned int)SB_ARG(arg), 0, 0);
	sb_put(p, BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1);
	sb_put(p, BPF_RET | BPF_K, set, 0, 0);
	sb_put(p, BPF_RET | BPF_K, unset, 0, 0);
}
