/*
 * The module's start: configuration from the environment (parent, before
 * the workers fork), shared metrics, the database registration and
 * assets per worker, and the seccomp rules Debian 12's glibc needs.
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>
#include <kore/seccomp.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "rq.h"
#include "analytics.h"
#include "tracing.h"
#include "metrics.h"
#include "circuit.h"
#include "service.h"
#include "revoke.h"
#include "auth.h"

#define CONNINFO_MAX		(CONFIG_STR_MAX + 64)
#define JSON_SLACK		(1024 * 1024)

struct config	cfg;

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);
void	kore_worker_teardown(void);

static const char	*env_get(const char *);

/* cppcheck cannot expand Kore's filter macros. */
#if !defined(__CPPCHECK__)
KORE_SECCOMP_FILTER("elenchus",
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(getdents64),
	KORE_SYSCALL_ALLOW(faccessat2),
	KORE_SYSCALL_DENY(clone3, ENOSYS),
	KORE_SYSCALL_ALLOW(clone),
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(futex),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(bind),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(ppoll),
	KORE_SYSCALL_ALLOW(pipe2),
	KORE_SYSCALL_ALLOW(eventfd2),
	KORE_SYSCALL_ALLOW(getrandom),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(sysinfo),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(sched_yield),
	KORE_SYSCALL_ALLOW(clock_gettime),
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(statfs),
	KORE_SYSCALL_ALLOW(fstatfs),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(rt_sigprocmask),
	KORE_SYSCALL_ALLOW(sched_setscheduler),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_INET),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_INET6),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_UNIX),
);
#endif

void
kore_parent_configure(int argc, char **argv)
{
	unsigned char	rnd[32];
	char		hex[sizeof(rnd) * 2 + 1];
	const char	*what;
	size_t		i;

	(void)argc;
	(void)argv;

	if (config_load(&cfg, env_get, &what) != CONFIG_OK) {
		fprintf(stderr, "elenchus: %s\n", cfg.error);
		exit(1);
	}
	if (cfg.jwt_secret_generated) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			fatal("RAND_bytes failed");
		for (i = 0; i < sizeof(rnd); i++)
			(void)snprintf(hex + i * 2, 3, "%02x", rnd[i]);
		config_jwt_generated(&cfg, hex);
		OPENSSL_cleanse(hex, sizeof(hex));
		kore_log(LOG_WARNING, "JWT_SECRET not set: using a random "
		    "secret; tokens will not survive a restart");
	}

	http_body_max = cfg.max_upload_bytes + JSON_SLACK;
	if (http_body_max < cfg.json_body_max)
		http_body_max = cfg.json_body_max;

	analytics_init();
	tracing_init();
	metrics_init();
	circuit_init();
	revoke_shm_init();
	kore_log(LOG_NOTICE, "elenchus %s (%s) starting", cfg.version,
	    cfg.environment);
}

void
kore_worker_configure(void)
{
	char		conninfo[CONNINFO_MAX];
	const char	*url;

	url = cfg.database_url;
	if (*url == '\0')
		url = "postgresql:///elenchus";
	/* A blocking connect must not hang a worker: bound it. */
	if (strstr(url, "connect_timeout") != NULL)
		(void)snprintf(conninfo, sizeof(conninfo), "%s", url);
	else if (!strncmp(url, "postgres", 8))
		(void)snprintf(conninfo, sizeof(conninfo), "%s%sconnect_timeout=3",
		    url, strchr(url, '?') ? "&" : "?");
	else
		(void)snprintf(conninfo, sizeof(conninfo),
		    "%s connect_timeout=3", url);
	jsonx_wipe_on_free();
	db_register(conninfo);
	rq_init();
	service_init();
	auth_init(conninfo);
}

/* A worker going down writes out what it has buffered. */
void
kore_worker_teardown(void)
{
	rq_flush();
	/*
	 * Kore 4.1 goes on to free its memory pools (kore_mem_cleanup),
	 * among them the condition variables its task threads are still
	 * waiting on, and the worker then dies in futex on its way out
	 * ("The futex facility returned an unexpected error code", an ASan
	 * report in the SAN build).  Nothing after this point matters to a
	 * worker that is leaving: tell the parent as Kore would, and go.
	 */
	kore_msg_send(KORE_MSG_PARENT, KORE_MSG_SHUTDOWN, NULL, 0);
	(void)fflush(NULL);
	_exit(0);
}

static const char *
env_get(const char *name)
{
	return (getenv(name));
}
