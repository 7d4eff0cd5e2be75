/*
 * The e2e fixture's instances (see fixture.h): processes of a test's own,
 * Kore instances, nginx fronts and PostgreSQL clusters, and the record of
 * what is running, so that nothing outlives the test that started it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define LIVE_MAX	32

static void	 live_add(pid_t, const struct pgc *);
static void	 live_del(pid_t, const struct pgc *);
static void	 live_path(char *, size_t, pid_t, const struct pgc *);
static void	 live_atexit(void);
static void	 group_end(pid_t);
static int	 tcp_open(int);
static const char *log_tail(const char *);

/* What this process started and has not stopped yet. */
static struct {
	pid_t		owner;
	pid_t		pids[LIVE_MAX];
	struct pgc	pgs[LIVE_MAX];
	int		npg;
	int		registered;
} live;

int
fx_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		sl;
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sl = sizeof(sin);
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0,
	    "no free port: %s", strerror(errno));
	port = ntohs(sin.sin_port);
	(void)close(fd);
	return (port);
}

pid_t
fx_spawn(const char *const *argv, const char *const *env, const char *out)
{
	char	*args[16];
	pid_t	 pid;
	int	 i, fd;

	if ((pid = fork()) == 0) {
		(void)setpgid(0, 0);
		/* The test process gone (a timeout, a crash): stop too. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			(void)putenv(strdup(env[i]));
		fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT |
		    O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		for (i = 0; i < 15 && argv[i] != NULL; i++)
			args[i] = strdup(argv[i]);
		args[i] = NULL;
		execvp(args[0], args);
		_exit(127);
	}
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	live_add(pid, NULL);
	return (pid);
}

void
fx_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	group_end(*pid);
	live_del(*pid, NULL);
	*pid = 0;
}

int
fx_exited(pid_t *pid, int seconds)
{
	int	st, i;

	for (i = 0; i < seconds * 10; i++) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			(void)kill(-*pid, SIGKILL);	/* what it left */
			live_del(*pid, NULL);
			*pid = 0;
			return (1);
		}
		(void)usleep(100000);
	}
	return (0);
}

void
fx_srv_start(struct srv *s, const char *const *env)
{
	const char	*argv[] = { "sh", "scripts/serve.sh", NULL, NULL };
	const char	*senv[LIVE_MAX];
	char		 port[32], log[192];
	int		 i, n;

	memset(s, 0, sizeof(*s));
	/* An HTTP_PORT among env restarts an instance on its old port. */
	for (i = 0; env != NULL && env[i] != NULL; i++)
		if (!strncmp(env[i], "HTTP_PORT=", 10))
			s->port = atoi(env[i] + 10);
	if (s->port <= 0)
		s->port = fx_free_port();
	(void)snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d",
	    s->port);
	(void)snprintf(s->dir, sizeof(s->dir), "%s/srv-%d",
	    env_or("E2E_TMP", "/tmp"), s->port);
	(void)snprintf(log, sizeof(log), "%s.log", s->dir);
	(void)unlink(log);
	(void)snprintf(port, sizeof(port), "HTTP_PORT=%d", s->port);
	n = 0;
	senv[n++] = port;
	for (i = 0; env != NULL && env[i] != NULL && n < LIVE_MAX - 1; i++)
		senv[n++] = env[i];
	senv[n] = NULL;
	argv[2] = s->dir;
	s->pid = fx_spawn(argv, senv, log);
	if (!wait_status(s->base, "/live", 200, 30)) {
		fx_srv_stop(s);
		cr_assert_fail("instance did not start (%s); its log ends:\n%s",
		    log, log_tail(log));
	}
}

/* The last bytes of the file at path (static), for a failure message. */
static const char *
log_tail(const char *path)
{
	static char	 buf[2048];
	FILE		*f;
	size_t		 n;
	long		 len;

	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return ("(no log)");
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0)
		(void)fseek(f, len > (long)sizeof(buf) - 1 ?
		    len - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	return (buf);
}

void
fx_srv_stop(struct srv *s)
{
	fx_stop(&s->pid);
}

int
fx_srv_workers(const struct srv *s, pid_t *out, int max)
{
	char	 cmd[300], pidfile[200];
	FILE	*fp;
	int	 n = 0, pid, kpid = 0;

	(void)snprintf(pidfile, sizeof(pidfile), "%s/kore.pid", s->dir);
	if ((fp = fopen(pidfile, "r")) != NULL) {
		if (fscanf(fp, "%d", &kpid) != 1)
			kpid = 0;
		(void)fclose(fp);
	}
	cr_assert_gt(kpid, 1, "no kore.pid in %s", s->dir);
	(void)snprintf(cmd, sizeof(cmd), "pgrep -P %d", kpid);
	cr_assert_not_null(fp = popen(cmd, "r"));
	while (n < max && fscanf(fp, "%d", &pid) == 1)
		out[n++] = pid;
	(void)pclose(fp);
	return (n);
}

void
fx_front_start(struct front *f, int upstream_port, const char *const *env)
{
	const char	*argv[] = { "sh", "scripts/nginx.sh", NULL, NULL, NULL,
			    NULL };
	const char	*fenv[LIVE_MAX];
	char		 dir[192], port[16], up[32];
	int		 i, n;

	f->port = fx_free_port();
	(void)snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d",
	    f->port);
	(void)snprintf(dir, sizeof(dir), "%s/front-%d",
	    env_or("E2E_TMP", "/tmp"), f->port);
	(void)snprintf(port, sizeof(port), "%d", f->port);
	(void)snprintf(up, sizeof(up), "127.0.0.1:%d", upstream_port);
	argv[2] = dir;
	argv[3] = port;
	argv[4] = up;
	/* Not the main front's proxy_bind, unless env says so. */
	n = 0;
	fenv[n++] = "NGINX_PROXY_BIND=";
	for (i = 0; env != NULL && env[i] != NULL && n < LIVE_MAX - 1; i++)
		fenv[n++] = env[i];
	fenv[n] = NULL;
	f->pid = fx_spawn(argv, fenv, NULL);
	for (i = 0; i < 300 && !tcp_open(f->port); i++)
		(void)usleep(50000);
	cr_assert(tcp_open(f->port), "the front did not start");
}

void
fx_front_stop(struct front *f)
{
	fx_stop(&f->pid);
}

void
fx_pg_start(struct pgc *c, const char *db)
{
	char	sh[1024];

	memset(c, 0, sizeof(*c));
	c->port = fx_free_port();
	(void)snprintf(c->dir, sizeof(c->dir), "%s/pg-%d",
	    env_or("E2E_TMP", "/tmp"), c->port);
	(void)snprintf(c->url, sizeof(c->url),
	    "postgresql://elenchus@/%s?host=%s&port=%d", db, c->dir, c->port);
	live_add(0, c);
	fx_pg_ctl(c, "start");
	(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d scripts/pg.sh "
	    "createdb %s >/dev/null && scripts/migrate.sh '%s' >/dev/null",
	    c->dir, c->port, db, c->url);
	cr_assert_eq(system(sh), 0, "%s failed", sh);
}

void
fx_pg_ctl(struct pgc *c, const char *cmd)
{
	char	sh[1024];

	(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d scripts/pg.sh %s"
	    " >/dev/null", c->dir, c->port, cmd);
	cr_assert_eq(system(sh), 0, "%s failed", sh);
	c->up = strcmp(cmd, "stop") != 0;
}

void
fx_pg_stop(struct pgc *c)
{
	if (c->port <= 0)
		return;
	fx_pg_ctl(c, "stop");
	live_del(0, c);
	c->port = 0;
}

/*
 * The record of what is running: in memory for the exit handler, and a
 * file per entry under $E2E_TMP/live for scripts/test.sh, which sweeps
 * what a dead test process left ("pid PGID" or "pg DIR PORT").
 */
static void
live_path(char *p, size_t len, pid_t pid, const struct pgc *c)
{
	if (c != NULL)
		(void)snprintf(p, len, "%s/live/pg-%d",
		    env_or("E2E_TMP", "/tmp"), c->port);
	else
		(void)snprintf(p, len, "%s/live/pid-%d",
		    env_or("E2E_TMP", "/tmp"), (int)pid);
}

static void
live_add(pid_t pid, const struct pgc *c)
{
	char	 path[300];
	FILE	*fp;
	int	 i;

	if (live.owner != getpid()) {
		/* A forked test process starts with an empty record. */
		i = live.registered;
		memset(&live, 0, sizeof(live));
		live.owner = getpid();
		live.registered = i;	/* atexit() survives a fork */
	}
	if (!live.registered) {
		(void)atexit(live_atexit);
		live.registered = 1;
	}
	if (c != NULL) {
		cr_assert_lt(live.npg, LIVE_MAX);
		live.pgs[live.npg++] = *c;
	} else {
		for (i = 0; i < LIVE_MAX && live.pids[i] != 0; i++)
			;
		if (i == LIVE_MAX)
			cr_assert_fail("more than %d processes", LIVE_MAX);
		else
			live.pids[i] = pid;
	}
	(void)snprintf(path, sizeof(path), "%s/live",
	    env_or("E2E_TMP", "/tmp"));
	(void)mkdir(path, 0755);
	live_path(path, sizeof(path), pid, c);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	if (c != NULL)
		(void)fprintf(fp, "pg %s %d\n", c->dir, c->port);
	else
		(void)fprintf(fp, "pid %d\n", (int)pid);
	(void)fclose(fp);
}

static void
live_del(pid_t pid, const struct pgc *c)
{
	char	path[300];
	int	i;

	live_path(path, sizeof(path), pid, c);
	(void)unlink(path);
	if (live.owner != getpid())
		return;
	for (i = 0; c == NULL && i < LIVE_MAX; i++)
		if (live.pids[i] == pid)
			live.pids[i] = 0;
	for (i = 0; c != NULL && i < live.npg; i++)
		if (live.pgs[i].port == c->port)
			live.pgs[i] = live.pgs[--live.npg];
}

/* A test that failed before its stop: stop what it left. */
static void
live_atexit(void)
{
	char	sh[700];
	int	i;

	if (live.owner != getpid())
		return;
	for (i = 0; i < LIVE_MAX; i++)
		if (live.pids[i] > 0)
			fx_stop(&live.pids[i]);
	while (live.npg > 0) {
		(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d "
		    "scripts/pg.sh stop >/dev/null 2>&1", live.pgs[0].dir,
		    live.pgs[0].port);
		(void)system(sh);
		live_del(0, &live.pgs[0]);
	}
}

/* TERM to the group, KILL after 5 s. */
static void
group_end(pid_t pid)
{
	int	st, i;

	(void)kill(-pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;		/* gone, or not ours to wait for */
		(void)usleep(50000);
	}
	(void)kill(-pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
}

/* Whether something listens on 127.0.0.1:port. */
static int
tcp_open(int port)
{
	int		fd;

	if ((fd = fx_tcp_connect(port)) < 0)
		return (0);
	(void)close(fd);
	return (1);
}

int
fx_tcp_connect(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		(void)close(fd);
		return (-1);
	}
	return (fd);
}
