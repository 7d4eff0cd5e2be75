/*
 * The side connection: one libpq connection per worker, outside Kore's
 * pgsql pools.  On (re)connect it runs LISTEN first, then the listener's
 * backlog query, so no notification committed in between is missed.
 *
 * Why a raw PGconn rather than a Kore pgsql handle: Kore reports the loss
 * of a callback-bound connection to nobody (pgsql_conn_cleanup wakes only
 * requests), and continuing a finished query hands the connection back
 * to the pool, which would end the LISTEN.  The connection is therefore
 * ours, on Kore's event loop (level-triggered read), and counts in none
 * of Kore's pgsql pools.  Connecting is a blocking PQconnectdb bounded
 * by connect_timeout (SIDEDB_CONNECT_S), like Kore's own connects.
 *
 * The same connection runs the housekeeping of rate_limits and
 * login_failures once a minute, and side queries (sidedb_query), while
 * otherwise idle.
 */
#include <sys/epoll.h>

#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <libpq-fe.h>

#include "sidedb.h"

#define SIDEDB_TICK_MS		500
/*
 * Liveness: an idle connection is pinged every SIDEDB_PING_MS; a query
 * unanswered after SIDEDB_DEADLINE_MS takes the connection down; and the
 * listener counts as live only while the last answer is at most
 * SIDEDB_FRESH_MS old, so a stalled connection (half-open TCP, a frozen
 * backend) stops the fast path within a few seconds instead of when TCP
 * gives up.  TCP keepalives and tcp_user_timeout bound it in the kernel
 * too.
 */
#define SIDEDB_PING_MS		1000
#define SIDEDB_DEADLINE_MS	5000
#define SIDEDB_FRESH_MS		3000
#define SIDEDB_CONNECT_S	"3"
#define SIDEDB_TCP_TIMEOUT_MS	"5000"
#define SIDEDB_BACKOFF_MIN_S	1
#define SIDEDB_BACKOFF_MAX_S	30
#define SIDEDB_HOUSE_S		60
#define SIDEDB_CONNINFO_MAX	2048
#define SIDEDB_SQL_MAX		256

enum sd_state {
	SD_DOWN = 0,
	SD_LISTEN,	/* LISTEN sent */
	SD_LOAD,	/* backlog query sent */
	SD_LIVE,	/* idle, complete */
	SD_HOUSE,	/* housekeeping sent; still complete */
	SD_SIDE,	/* a side query (sidedb_query) sent */
	SD_PING,	/* liveness ping sent; still complete */
};

static void	sd_tick(void *, u_int64_t);
static void	sd_connect(void);
static int	sd_send(const char *, int, const char *const *,
		    enum sd_state);
static void	sd_down(const char *);
static void	sd_handle(void *, int);
static void	sd_results(void);
static void	sd_query_done(void);
static void	sd_side_done(int);

/* The text is how tests/e2e/test_security.c finds this connection. */
static const char sql_sd_ping[] = "SELECT 1 /* revoke ping */";
static const char sql_sd_house[] =
    "DELETE FROM rate_limits WHERE window_start < now() - interval "
    "'5 minutes'; DELETE FROM login_failures WHERE at < now() - "
    "interval '2 days'";

static const struct sidedb_listener	*sd_l;
static char		sd_listen[SIDEDB_SQL_MAX];
static char		sd_conninfo[SIDEDB_CONNINFO_MAX];
static int		sd_started;
static PGconn		*sd_conn;
static struct kore_event sd_evt;
static enum sd_state	sd_st;
static int		sd_inflight;
static int		sd_loaded;
static time_t		sd_next_try;
static int		sd_backoff = SIDEDB_BACKOFF_MIN_S;
static time_t		sd_last_house;
static u_int64_t	sd_sent_ms;	/* the query in flight was sent */
static u_int64_t	sd_answer_ms;	/* the last answer came */

static void		(*sd_side_cb)(PGresult *, int, void *);
static void		*sd_side_arg;

void
sidedb_init(const char *conninfo, const struct sidedb_listener *l)
{
	if (sd_started)
		return;
	sd_started = 1;
	sd_l = l;
	if (kore_strlcpy(sd_conninfo, conninfo, sizeof(sd_conninfo)) >=
	    sizeof(sd_conninfo))
		fatal("sidedb: connection string too long");
	if ((size_t)snprintf(sd_listen, sizeof(sd_listen), "LISTEN %s",
	    l->channel) >= sizeof(sd_listen))
		fatal("sidedb: channel name too long");
	sd_last_house = time(NULL);
	(void)kore_timer_add(sd_tick, SIDEDB_TICK_MS, NULL, 0);
	sd_connect();
}

int
sidedb_live(void)
{
	return (sd_started && sd_loaded &&
	    (sd_st == SD_LIVE || sd_st == SD_HOUSE || sd_st == SD_PING) &&
	    kore_time_ms() - sd_answer_ms <= SIDEDB_FRESH_MS);
}

int
sidedb_reload(const char *why)
{
	if (sd_st != SD_LIVE)
		return (0);
	sd_down(why);
	return (1);
}

int
sidedb_query(const char *sql, int n, const char *const *vals,
    void (*cb)(PGresult *, int, void *), void *arg)
{
	if (sd_conn == NULL || sd_st != SD_LIVE || sd_inflight)
		return (0);
	if (!sd_send(sql, n, vals, SD_SIDE))
		return (0);
	sd_side_cb = cb;
	sd_side_arg = arg;
	return (1);
}

static void
sd_side_done(int ok)
{
	void	(*cb)(PGresult *, int, void *);

	cb = sd_side_cb;
	sd_side_cb = NULL;
	if (cb != NULL)
		cb(NULL, ok, sd_side_arg);
}

static void
sd_tick(void *arg, u_int64_t now_ms)
{
	time_t		now;

	(void)arg;
	now = time(NULL);
	if (sd_st != SD_DOWN && sd_inflight &&
	    now_ms - sd_sent_ms > SIDEDB_DEADLINE_MS) {
		sd_down("no answer within the deadline");
		return;
	}
	if (sd_st == SD_DOWN) {
		if (now >= sd_next_try)
			sd_connect();
		return;
	}
	if (sd_st != SD_LIVE)
		return;
	if (now - sd_last_house >= SIDEDB_HOUSE_S) {
		sd_last_house = now;
		(void)sd_send(sql_sd_house, 0, NULL, SD_HOUSE);
	} else if (!sd_inflight && now_ms - sd_answer_ms >= SIDEDB_PING_MS) {
		(void)sd_send(sql_sd_ping, 0, NULL, SD_PING);
	}
}

/*
 * Send a query and enter state st (1), or take the connection down.
 * Without parameters it goes as a simple query, which may hold several
 * statements (the housekeeping).
 */
static int
sd_send(const char *sql, int n, const char *const *vals, enum sd_state st)
{
	int	ok;

	if (n == 0)
		ok = PQsendQuery(sd_conn, sql);
	else
		ok = PQsendQueryParams(sd_conn, sql, n, NULL, vals, NULL,
		    NULL, 0);
	if (!ok) {
		sd_down(PQerrorMessage(sd_conn));
		return (0);
	}
	(void)PQflush(sd_conn);
	sd_sent_ms = kore_time_ms();
	sd_inflight = 1;
	sd_st = st;
	return (1);
}

static void
sd_connect(void)
{
	/* Later entries override what the connection string says. */
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "keepalives", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", NULL };
	const char	*vals[8];
	int		 fd;

	vals[0] = sd_conninfo;
	vals[1] = SIDEDB_CONNECT_S;
	vals[2] = "1";
	vals[3] = "5";
	vals[4] = "2";
	vals[5] = "2";
	vals[6] = SIDEDB_TCP_TIMEOUT_MS;
	vals[7] = NULL;
	sd_loaded = 0;
	sd_l->reset();
	sd_conn = PQconnectdbParams(keys, vals, 1);
	if (sd_conn == NULL || PQstatus(sd_conn) != CONNECTION_OK) {
		sd_down(sd_conn ? PQerrorMessage(sd_conn) : "out of memory");
		return;
	}
	if (PQsetnonblocking(sd_conn, 1) != 0 ||
	    (fd = PQsocket(sd_conn)) < 0) {
		sd_down("cannot set up the connection");
		return;
	}
	sd_evt.type = KORE_TYPE_PGSQL_CONN;
	sd_evt.flags = 0;
	sd_evt.handle = sd_handle;
	kore_platform_event_schedule(fd, EPOLLIN | EPOLLRDHUP, 0, &sd_evt);
	(void)sd_send(sd_listen, 0, NULL, SD_LISTEN);
}

static void
sd_down(const char *why)
{
	if (sd_started && sd_st != SD_DOWN)
		kore_log(LOG_WARNING, "sidedb: connection down: %s", why);
	else
		kore_log(LOG_NOTICE, "sidedb: cannot connect: %s", why);
	if (sd_conn != NULL) {
		/* Closing the socket removes it from epoll. */
		PQfinish(sd_conn);
		sd_conn = NULL;
	}
	sd_st = SD_DOWN;
	sd_inflight = 0;
	sd_loaded = 0;
	sd_side_done(0);
	sd_next_try = time(NULL) + sd_backoff;
	sd_backoff *= 2;
	if (sd_backoff > SIDEDB_BACKOFF_MAX_S)
		sd_backoff = SIDEDB_BACKOFF_MAX_S;
}

static void
sd_handle(void *arg, int err)
{
	PGnotify	*n;

	(void)arg;
	if (sd_conn == NULL)
		return;
	if (err) {
		sd_down("connection closed");
		return;
	}
	if (!PQconsumeInput(sd_conn) || PQflush(sd_conn) == -1) {
		sd_down(PQerrorMessage(sd_conn));
		return;
	}
	sd_results();
	if (sd_conn == NULL)
		return;
	while ((n = PQnotifies(sd_conn)) != NULL) {
		if (!strcmp(n->relname, sd_l->channel))
			sd_l->notify(n->extra);
		PQfreemem(n);
	}
}

/* Take the results of the query in flight that have arrived. */
static void
sd_results(void)
{
	PGresult	*res;
	ExecStatusType	 st;

	while (sd_inflight && !PQisBusy(sd_conn)) {
		if ((res = PQgetResult(sd_conn)) == NULL) {
			sd_inflight = 0;
			sd_answer_ms = kore_time_ms();
			sd_query_done();
			if (sd_conn == NULL)
				return;
			continue;
		}
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			kore_log(LOG_WARNING, "sidedb: query failed: %s",
			    PQresultErrorMessage(res));
			PQclear(res);
			sd_down("query failed");
			return;
		}
		if (sd_st == SD_LOAD)
			sd_l->load(res);
		else if (sd_st == SD_SIDE && sd_side_cb != NULL)
			sd_side_cb(res, 1, sd_side_arg);
		PQclear(res);
	}
}

/* The query in flight has finished: move to the next state. */
static void
sd_query_done(void)
{
	const char	*params[1];

	switch (sd_st) {
	case SD_LISTEN:
		params[0] = sd_l->load_param;
		(void)sd_send(sd_l->load_sql, 1, params, SD_LOAD);
		break;
	case SD_LOAD:
		sd_loaded = 1;
		sd_backoff = SIDEDB_BACKOFF_MIN_S;
		sd_st = SD_LIVE;
		sd_l->loaded();
		break;
	case SD_HOUSE:
	case SD_PING:
		sd_st = SD_LIVE;
		break;
	case SD_SIDE:
		sd_st = SD_LIVE;
		sd_side_done(1);
		break;
	default:
		break;
	}
}
