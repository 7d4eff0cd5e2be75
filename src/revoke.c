/*
 * Revocation cache.  Each worker keeps an open-addressing hash set of the
 * session ids revoked within the last access-token lifetime (an older
 * revocation cannot have a live access token: a token's exp is at most
 * its iat plus that lifetime, and no token is minted for a revoked
 * session).  A dedicated libpq connection LISTENs on session_revoked;
 * on (re)connect it runs LISTEN first, then loads the backlog, so no
 * revocation committed in between is missed.
 *
 * Why a raw PGconn rather than a Kore pgsql handle: Kore reports the loss
 * of a callback-bound connection to nobody (pgsql_conn_cleanup wakes only
 * requests), and continuing a finished query hands the connection back
 * to the pool, which would end the LISTEN.  The connection is therefore
 * ours, on Kore's event loop (level-triggered read), and counts in none
 * of Kore's pgsql pools.  Connecting is a blocking PQconnectdb bounded
 * by connect_timeout (REVOKE_CONNECT_S), like Kore's own connects.
 *
 * Costs: one PostgreSQL connection per worker; 24 bytes per entry at a
 * load factor of at most 1/2, so about 48 bytes per session revoked in
 * the last ACCESS_TOKEN_TTL per worker (capped at REVOKE_MAX_ENTRIES:
 * beyond it the cache declares itself not live and callers ask the
 * database).  Latency: a revocation reaches other workers when PostgreSQL
 * delivers the NOTIFY after the commit, normally well under a
 * millisecond; the revoking worker records it before answering.
 *
 * The same connection runs the housekeeping of rate_limits and
 * login_failures once a minute, while otherwise idle.
 */
#include <sys/epoll.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <libpq-fe.h>

#include "rq.h"
#include "revoke.h"
#include "lib/config.h"
#include "lib/revring.h"

#define REVOKE_CHANNEL		"session_revoked"
#define REVOKE_TICK_MS		500
/*
 * Liveness: an idle connection is pinged every REVOKE_PING_MS; a query
 * unanswered after REVOKE_DEADLINE_MS takes the connection down; and the
 * cache counts as live only while the last answer is at most
 * REVOKE_FRESH_MS old, so a stalled connection (half-open TCP, a frozen
 * backend) stops the fast path within a few seconds instead of when TCP
 * gives up.  TCP keepalives and tcp_user_timeout bound it in the kernel
 * too.
 */
#define REVOKE_PING_MS		1000
#define REVOKE_DEADLINE_MS	5000
#define REVOKE_FRESH_MS		3000
#define REVOKE_CONNECT_S	"3"
#define REVOKE_TCP_TIMEOUT_MS	"5000"
#define REVOKE_BACKOFF_MIN_S	1
#define REVOKE_BACKOFF_MAX_S	30
#define REVOKE_PRUNE_S		60
#define REVOKE_HOUSE_S		60
/* Clock skew allowed between the database and the workers. */
#define REVOKE_SLACK_S		60
#define REVOKE_INIT_CAP		1024
#define REVOKE_MAX_ENTRIES	(1 << 20)
#define REVOKE_CONNINFO_MAX	2048

enum rv_state {
	RV_DOWN = 0,
	RV_LISTEN,	/* LISTEN sent */
	RV_LOAD,	/* backlog SELECT sent */
	RV_LIVE,	/* idle, complete */
	RV_HOUSE,	/* housekeeping sent; still complete */
	RV_SIDE,	/* a side query (revoke_side_query) sent */
	RV_PING,	/* liveness ping sent; still complete */
};

struct rv_entry {
	uint8_t		key[16];
	int64_t		at;		/* revoked at, Unix seconds */
};

extern struct config	cfg;

static void	rv_tick(void *, u_int64_t);
static void	rv_connect(void);
static void	rv_down(const char *);
static void	rv_handle(void *, int);
static void	rv_query_done(void);
static void	rv_add_local(const char *);
static void	rv_side_done(int);
static void	rv_load_rows(PGresult *);
static int	rv_key(const char *, uint8_t [16]);
static void	rv_insert(const uint8_t [16], int64_t);
static void	rv_put(struct rv_entry *, size_t, const uint8_t [16], int64_t);
static void	rv_rebuild(size_t, int64_t);
static size_t	rv_hash(const uint8_t [16], size_t);

static const char sql_rv_listen[] = "LISTEN " REVOKE_CHANNEL;
static const char sql_rv_load[] =
    "SELECT id::text, extract(epoch FROM revoked_at)::bigint "
    "FROM sessions WHERE revoked_at > now() - make_interval(secs => $1)";
static const char sql_rv_ping[] = "SELECT 1 /* revoke ping */";
static const char sql_rv_house[] =
    "DELETE FROM rate_limits WHERE window_start < now() - interval "
    "'5 minutes'; DELETE FROM login_failures WHERE at < now() - "
    "interval '2 days'";

static char		rv_conninfo[REVOKE_CONNINFO_MAX];
static int		rv_started;
static PGconn		*rv_conn;
static struct kore_event rv_evt;
static enum rv_state	rv_st;
static int		rv_inflight;
static int		rv_loaded;
static time_t		rv_next_try;
static int		rv_backoff = REVOKE_BACKOFF_MIN_S;
static time_t		rv_last_prune;
static time_t		rv_last_house;
static u_int64_t	rv_sent_ms;	/* the query in flight was sent */
static u_int64_t	rv_answer_ms;	/* the last answer came */

static void		(*rv_side_cb)(PGresult *, int, void *);
static void		*rv_side_arg;

/*
 * Sessions this worker has seen pass the exact database check, with
 * their user: a token naming one of them (and not revoked) needs no
 * database.  Cleared when full.
 */
#define KNOWN_CAP		(1 << 16)
struct rv_known {
	uint8_t		sid[16];
	uint8_t		sub[16];
	uint8_t		used;
};
static struct rv_known	*rv_known_tab;
static size_t		rv_known_count;

static struct rv_entry	*rv_tab;
static size_t		rv_cap;
static size_t		rv_count;
static int		rv_overflow;

void
revoke_init(const char *conninfo)
{
	if (rv_started)
		return;
	rv_started = 1;
	if (kore_strlcpy(rv_conninfo, conninfo, sizeof(rv_conninfo)) >=
	    sizeof(rv_conninfo))
		fatal("revoke: connection string too long");
	rv_rebuild(REVOKE_INIT_CAP, 0);
	rv_last_prune = rv_last_house = time(NULL);
	(void)kore_timer_add(rv_tick, REVOKE_TICK_MS, NULL, 0);
	rv_connect();
}

int
revoke_live(void)
{
	return (rv_started && rv_loaded && !rv_overflow &&
	    (rv_st == RV_LIVE || rv_st == RV_HOUSE || rv_st == RV_PING) &&
	    kore_time_ms() - rv_answer_ms <= REVOKE_FRESH_MS);
}

/*
 * Revocations made by this instance's workers also go through a ring in
 * shared memory, written before the revoking worker answers: a request
 * that follows on another worker sees them without waiting for the
 * NOTIFY.  Each worker merges what it has not yet seen before looking a
 * session up; if it fell a whole ring behind, it forgets which sessions
 * it has checked, so they go to the database again.
 */
static struct revring	*rv_ring;
static uint64_t		 rv_ring_seen;

void
revoke_shm_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*rv_ring), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("revoke: mmap: %s", errno_s);
	rv_ring = p;
	memset(rv_ring, 0, sizeof(*rv_ring));
}

static void
rv_ring_take(const uint8_t key[16], void *arg)
{
	(void)arg;
	rv_insert(key, (int64_t)time(NULL));
}

static void
rv_ring_merge(void)
{
	if (rv_ring == NULL)
		return;
	if (revring_merge(rv_ring, &rv_ring_seen, rv_ring_take, NULL) &&
	    rv_known_tab != NULL) {
		memset(rv_known_tab, 0, KNOWN_CAP * sizeof(*rv_known_tab));
		rv_known_count = 0;
	}
}

int
revoke_has(const char *sid)
{
	uint8_t		key[16];
	size_t		i;

	if (rv_tab == NULL || !rv_key(sid, key))
		return (0);
	rv_ring_merge();
	for (i = rv_hash(key, rv_cap); ; i = (i + 1) & (rv_cap - 1)) {
		if (rv_tab[i].at == 0)
			return (0);
		if (!memcmp(rv_tab[i].key, key, sizeof(key)))
			return (1);
	}
}

/* A revocation some worker committed (the NOTIFY): this worker only. */
static void
rv_add_local(const char *sid)
{
	uint8_t		key[16];

	if (rv_tab != NULL && rv_key(sid, key))
		rv_insert(key, (int64_t)time(NULL));
}

void
revoke_add(const char *sid)
{
	uint8_t		key[16];

	if (!rv_key(sid, key))
		return;
	if (rv_tab != NULL)
		rv_insert(key, (int64_t)time(NULL));
	if (rv_ring != NULL)
		revring_put(rv_ring, key);
}

void
revoke_add_list(const char *list)
{
	char		sid[40];
	const char	*p, *e;
	size_t		n;

	if (list == NULL || *list != '{')
		return;
	for (p = list + 1; *p != '\0' && *p != '}'; p = *e ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ',' && *e != '}'; e++)
			;
		n = (size_t)(e - p);
		if (n > 0 && n < sizeof(sid)) {
			memcpy(sid, p, n);
			sid[n] = '\0';
			revoke_add(sid);
		}
		if (*e == '}')
			break;
	}
}

int
revoke_answer(struct http_request *req, struct rq *rq, const char *msg)
{
	if (db_poll(req, &rq->q) == DB_OK && db_rows(&rq->q) > 0 &&
	    PQnfields(rq->q.res) > 1)
		revoke_add_list(db_val(&rq->q, 0, 1));
	return (rq_answer(req, rq, 200, msg));
}

int
revoke_known(const char *sid, const char *sub)
{
	uint8_t		k[16], u[16];
	size_t		h;

	if (rv_known_tab == NULL || !rv_key(sid, k) || !rv_key(sub, u))
		return (0);
	for (h = rv_hash(k, KNOWN_CAP); rv_known_tab[h].used;
	    h = (h + 1) & (KNOWN_CAP - 1)) {
		if (!memcmp(rv_known_tab[h].sid, k, 16))
			return (!memcmp(rv_known_tab[h].sub, u, 16));
	}
	return (0);
}

void
revoke_remember(const char *sid, const char *sub)
{
	uint8_t		k[16], u[16];
	size_t		h;

	if (!rv_key(sid, k) || !rv_key(sub, u))
		return;
	if (rv_known_tab == NULL)
		rv_known_tab = kore_calloc(KNOWN_CAP, sizeof(*rv_known_tab));
	if ((rv_known_count + 1) * 2 > KNOWN_CAP) {
		memset(rv_known_tab, 0, KNOWN_CAP * sizeof(*rv_known_tab));
		rv_known_count = 0;
	}
	for (h = rv_hash(k, KNOWN_CAP); rv_known_tab[h].used;
	    h = (h + 1) & (KNOWN_CAP - 1)) {
		if (!memcmp(rv_known_tab[h].sid, k, 16))
			return;
	}
	memcpy(rv_known_tab[h].sid, k, 16);
	memcpy(rv_known_tab[h].sub, u, 16);
	rv_known_tab[h].used = 1;
	rv_known_count++;
}

/*
 * Run a query on this worker's side connection when it is live and idle
 * (1: sent).  cb sees each result (ok = 1), then (NULL, 1) when the query
 * is complete, or (NULL, 0) if the connection fails first.
 */
int
revoke_side_query(const char *sql, int n, const char *const *vals,
    void (*cb)(PGresult *, int, void *), void *arg)
{
	if (rv_conn == NULL || rv_st != RV_LIVE || rv_inflight)
		return (0);
	if (!PQsendQueryParams(rv_conn, sql, n, NULL, vals, NULL, NULL, 0)) {
		rv_down(PQerrorMessage(rv_conn));
		return (0);
	}
	(void)PQflush(rv_conn);
	rv_sent_ms = kore_time_ms();
	rv_side_cb = cb;
	rv_side_arg = arg;
	rv_inflight = 1;
	rv_st = RV_SIDE;
	return (1);
}

static void
rv_side_done(int ok)
{
	void	(*cb)(PGresult *, int, void *);

	cb = rv_side_cb;
	rv_side_cb = NULL;
	if (cb != NULL)
		cb(NULL, ok, rv_side_arg);
}

static void
rv_tick(void *arg, u_int64_t now_ms)
{
	time_t		now;

	(void)arg;
	now = time(NULL);
	if (rv_st != RV_DOWN && rv_inflight &&
	    now_ms - rv_sent_ms > REVOKE_DEADLINE_MS) {
		rv_down("no answer within the deadline");
		return;
	}
	if (now - rv_last_prune >= REVOKE_PRUNE_S) {
		rv_last_prune = now;
		rv_rebuild(rv_cap, (int64_t)now - cfg.access_ttl_s -
		    REVOKE_SLACK_S);
		/* Entries were dropped while full: reload from scratch. */
		if (rv_overflow && rv_st == RV_LIVE &&
		    rv_count < REVOKE_MAX_ENTRIES / 2)
			rv_down("reloading after overflow");
	}
	if (rv_st == RV_DOWN && now >= rv_next_try) {
		rv_connect();
		return;
	}
	if (rv_st == RV_LIVE && now - rv_last_house >= REVOKE_HOUSE_S) {
		rv_last_house = now;
		if (!PQsendQuery(rv_conn, sql_rv_house)) {
			rv_down(PQerrorMessage(rv_conn));
			return;
		}
		(void)PQflush(rv_conn);
		rv_sent_ms = now_ms;
		rv_inflight = 1;
		rv_st = RV_HOUSE;
		return;
	}
	if (rv_st == RV_LIVE && !rv_inflight &&
	    now_ms - rv_answer_ms >= REVOKE_PING_MS) {
		if (!PQsendQuery(rv_conn, sql_rv_ping)) {
			rv_down(PQerrorMessage(rv_conn));
			return;
		}
		(void)PQflush(rv_conn);
		rv_sent_ms = now_ms;
		rv_inflight = 1;
		rv_st = RV_PING;
	}
}

static void
rv_connect(void)
{
	/* Later entries override what the connection string says. */
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "keepalives", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", NULL };
	const char	*vals[8];
	int		 fd;

	vals[0] = rv_conninfo;
	vals[1] = REVOKE_CONNECT_S;
	vals[2] = "1";
	vals[3] = "5";
	vals[4] = "2";
	vals[5] = "2";
	vals[6] = REVOKE_TCP_TIMEOUT_MS;
	vals[7] = NULL;
	rv_loaded = 0;
	rv_overflow = 0;
	rv_conn = PQconnectdbParams(keys, vals, 1);
	if (rv_conn == NULL || PQstatus(rv_conn) != CONNECTION_OK) {
		rv_down(rv_conn ? PQerrorMessage(rv_conn) : "out of memory");
		return;
	}
	if (PQsetnonblocking(rv_conn, 1) != 0 ||
	    (fd = PQsocket(rv_conn)) < 0) {
		rv_down("cannot set up the connection");
		return;
	}
	rv_evt.type = KORE_TYPE_PGSQL_CONN;
	rv_evt.flags = 0;
	rv_evt.handle = rv_handle;
	kore_platform_event_schedule(fd, EPOLLIN | EPOLLRDHUP, 0, &rv_evt);

	if (!PQsendQuery(rv_conn, sql_rv_listen)) {
		rv_down(PQerrorMessage(rv_conn));
		return;
	}
	(void)PQflush(rv_conn);
	rv_sent_ms = kore_time_ms();
	rv_inflight = 1;
	rv_st = RV_LISTEN;
}

static void
rv_down(const char *why)
{
	if (rv_started && rv_st != RV_DOWN)
		kore_log(LOG_WARNING, "revoke: listener down: %s", why);
	else
		kore_log(LOG_NOTICE, "revoke: cannot listen: %s", why);
	if (rv_conn != NULL) {
		/* Closing the socket removes it from epoll. */
		PQfinish(rv_conn);
		rv_conn = NULL;
	}
	rv_st = RV_DOWN;
	rv_inflight = 0;
	rv_loaded = 0;
	rv_side_done(0);
	rv_next_try = time(NULL) + rv_backoff;
	rv_backoff *= 2;
	if (rv_backoff > REVOKE_BACKOFF_MAX_S)
		rv_backoff = REVOKE_BACKOFF_MAX_S;
}

static void
rv_handle(void *arg, int err)
{
	PGresult	*res;
	PGnotify	*n;
	ExecStatusType	 st;

	(void)arg;
	if (rv_conn == NULL)
		return;
	if (err) {
		rv_down("connection closed");
		return;
	}
	if (!PQconsumeInput(rv_conn)) {
		rv_down(PQerrorMessage(rv_conn));
		return;
	}
	if (PQflush(rv_conn) == -1) {
		rv_down(PQerrorMessage(rv_conn));
		return;
	}

	while (rv_inflight && !PQisBusy(rv_conn)) {
		if ((res = PQgetResult(rv_conn)) == NULL) {
			rv_inflight = 0;
			rv_answer_ms = kore_time_ms();
			rv_query_done();
			if (rv_conn == NULL)
				return;
			continue;
		}
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			kore_log(LOG_WARNING, "revoke: query failed: %s",
			    PQresultErrorMessage(res));
			PQclear(res);
			rv_down("query failed");
			return;
		}
		if (rv_st == RV_LOAD)
			rv_load_rows(res);
		else if (rv_st == RV_SIDE && rv_side_cb != NULL)
			rv_side_cb(res, 1, rv_side_arg);
		PQclear(res);
	}

	while ((n = PQnotifies(rv_conn)) != NULL) {
		if (!strcmp(n->relname, REVOKE_CHANNEL))
			rv_add_local(n->extra);
		PQfreemem(n);
	}
}

/* The query in flight has finished: move to the next state. */
static void
rv_query_done(void)
{
	char		secs[32];
	const char	*params[1];

	switch (rv_st) {
	case RV_LISTEN:
		(void)snprintf(secs, sizeof(secs), "%d",
		    cfg.access_ttl_s + REVOKE_SLACK_S);
		params[0] = secs;
		if (!PQsendQueryParams(rv_conn, sql_rv_load, 1, NULL, params,
		    NULL, NULL, 0)) {
			rv_down(PQerrorMessage(rv_conn));
			return;
		}
		(void)PQflush(rv_conn);
		rv_sent_ms = kore_time_ms();
		rv_inflight = 1;
		rv_st = RV_LOAD;
		break;
	case RV_LOAD:
		rv_loaded = 1;
		rv_backoff = REVOKE_BACKOFF_MIN_S;
		rv_st = RV_LIVE;
		kore_log(LOG_NOTICE, "revoke: listening, %zu revoked sessions "
		    "cached", rv_count);
		break;
	case RV_HOUSE:
	case RV_PING:
		rv_st = RV_LIVE;
		break;
	case RV_SIDE:
		rv_st = RV_LIVE;
		rv_side_done(1);
		break;
	default:
		break;
	}
}

static void
rv_load_rows(PGresult *res)
{
	uint8_t		key[16];
	int		i, n;

	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if (rv_key(PQgetvalue(res, i, 0), key))
			rv_insert(key, strtoll(PQgetvalue(res, i, 1), NULL,
			    10));
	}
}

/* UUID text to 16 bytes; 0 when sid is not a UUID. */
static int
rv_key(const char *sid, uint8_t key[16])
{
	int		i, hi, lo, k;
	char		c;

	if (sid == NULL || strlen(sid) != 36)
		return (0);
	k = 0;
	hi = -1;
	for (i = 0; i < 36; i++) {
		c = sid[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return (0);
			continue;
		}
		if (c >= '0' && c <= '9')
			lo = c - '0';
		else if (c >= 'a' && c <= 'f')
			lo = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			lo = c - 'A' + 10;
		else
			return (0);
		if (hi < 0) {
			hi = lo;
		} else {
			key[k++] = (uint8_t)(hi << 4 | lo);
			hi = -1;
		}
	}
	return (1);
}

static size_t
rv_hash(const uint8_t key[16], size_t cap)
{
	uint64_t	h;

	/* Random UUIDs: their bytes are already uniform. */
	memcpy(&h, key, sizeof(h));
	return ((size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1));
}

static void
rv_insert(const uint8_t key[16], int64_t at)
{
	if (at <= 0)
		at = 1;
	if ((rv_count + 1) * 2 > rv_cap) {
		if (rv_cap * 2 > (size_t)REVOKE_MAX_ENTRIES * 2) {
			if (!rv_overflow)
				kore_log(LOG_WARNING, "revoke: cache full, "
				    "checking sessions in the database");
			rv_overflow = 1;
			return;
		}
		rv_rebuild(rv_cap * 2, 0);
	}
	rv_put(rv_tab, rv_cap, key, at);
}

/* Insert into tab; counts a new key in rv_count when tab is rv_tab. */
static void
rv_put(struct rv_entry *tab, size_t cap, const uint8_t key[16], int64_t at)
{
	size_t		i;

	for (i = rv_hash(key, cap); ; i = (i + 1) & (cap - 1)) {
		if (tab[i].at == 0) {
			memcpy(tab[i].key, key, 16);
			tab[i].at = at;
			rv_count++;
			return;
		}
		if (!memcmp(tab[i].key, key, 16)) {
			if (at > tab[i].at)
				tab[i].at = at;
			return;
		}
	}
}

/* Rehash into cap slots, dropping entries revoked before oldest. */
static void
rv_rebuild(size_t cap, int64_t oldest)
{
	struct rv_entry	*old, *tab;
	size_t		 i, oldcap, live;

	old = rv_tab;
	oldcap = rv_cap;
	for (i = 0, live = 0; i < oldcap; i++) {
		if (old[i].at != 0 && old[i].at >= oldest)
			live++;
	}
	while (cap > REVOKE_INIT_CAP && live * 8 < cap)
		cap /= 2;
	while (live * 2 > cap)
		cap *= 2;

	tab = kore_calloc(cap, sizeof(*tab));
	rv_tab = tab;
	rv_cap = cap;
	rv_count = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].at != 0 && old[i].at >= oldest)
			rv_put(tab, cap, old[i].key, old[i].at);
	}
	kore_free(old);
}
