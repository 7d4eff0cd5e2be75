/*
 * Revocation cache.  Each worker keeps an open-addressing hash set of the
 * session ids revoked within the last access-token lifetime (an older
 * revocation cannot have a live access token: a token's exp is at most
 * its iat plus that lifetime, and no token is minted for a revoked
 * session).  The worker's side connection (src/sidedb.c) LISTENs on
 * session_revoked and loads the backlog after each (re)connect.
 *
 * Costs: 24 bytes per entry at a load factor of at most 1/2, so about 48
 * bytes per session revoked in the last ACCESS_TOKEN_TTL per worker
 * (capped at REVOKE_MAX_ENTRIES: beyond it the cache declares itself not
 * live and callers ask the database).  Latency: a revocation reaches
 * other workers when PostgreSQL delivers the NOTIFY after the commit,
 * normally well under a millisecond; the revoking worker records it
 * before answering.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "revoke.h"
#include "sidedb.h"
#include "lib/revring.h"
#include "lib/uuid.h"
#include "lib/uuidset.h"

#define REVOKE_CHANNEL		"session_revoked"
#define REVOKE_PRUNE_S		60
/* Clock skew allowed between the database and the workers. */
#define REVOKE_SLACK_S		60
#define REVOKE_INIT_CAP		1024
#define REVOKE_MAX_ENTRIES	(1 << 20)

static void	rv_prune(void *, u_int64_t);
static void	rv_reset(void);
static void	rv_loaded(void);
static void	rv_add_local(const char *);
static void	rv_load_rows(PGresult *);
static void	rv_insert(const uint8_t [16], int64_t);

static const char sql_rv_load[] =
    "SELECT id::text, extract(epoch FROM revoked_at)::bigint "
    "FROM sessions WHERE revoked_at > now() - make_interval(secs => $1)";

static char		rv_secs[32];
static const struct sidedb_listener rv_listener = {
	REVOKE_CHANNEL, sql_rv_load, rv_secs, rv_reset, rv_load_rows,
	rv_loaded, rv_add_local
};
static int		rv_started;

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

/* Keys: session ids; times: revoked at, Unix seconds. */
static struct uuidset	rv_set;

void
revoke_init(const char *conninfo)
{
	if (rv_started)
		return;
	rv_started = 1;
	(void)snprintf(rv_secs, sizeof(rv_secs), "%d",
	    cfg.access_ttl_s + REVOKE_SLACK_S);
	uuidset_init(&rv_set, REVOKE_INIT_CAP, REVOKE_MAX_ENTRIES);
	(void)kore_timer_add(rv_prune, REVOKE_PRUNE_S * 1000, NULL, 0);
	sidedb_init(conninfo, &rv_listener);
}

int
revoke_live(void)
{
	return (rv_started && !rv_set.overflow && sidedb_live());
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

	if (!rv_started || uuid_parse(sid, key) == -1)
		return (0);
	rv_ring_merge();
	return (uuidset_has(&rv_set, key));
}

/* A revocation some worker committed (the NOTIFY): this worker only. */
static void
rv_add_local(const char *sid)
{
	uint8_t		key[16];

	if (uuid_parse(sid, key) == 0)
		rv_insert(key, (int64_t)time(NULL));
}

void
revoke_add(const char *sid)
{
	uint8_t		key[16];

	if (uuid_parse(sid, key) == -1)
		return;
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
revoke_known(const char *sid, const char *sub)
{
	uint8_t		k[16], u[16];
	size_t		h;

	if (rv_known_tab == NULL || uuid_parse(sid, k) == -1 ||
	    uuid_parse(sub, u) == -1)
		return (0);
	for (h = uuidset_hash(k, KNOWN_CAP); rv_known_tab[h].used;
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

	if (uuid_parse(sid, k) == -1 ||
	    uuid_parse(sub, u) == -1)
		return;
	if (rv_known_tab == NULL)
		rv_known_tab = kore_calloc(KNOWN_CAP, sizeof(*rv_known_tab));
	if ((rv_known_count + 1) * 2 > KNOWN_CAP) {
		memset(rv_known_tab, 0, KNOWN_CAP * sizeof(*rv_known_tab));
		rv_known_count = 0;
	}
	for (h = uuidset_hash(k, KNOWN_CAP); rv_known_tab[h].used;
	    h = (h + 1) & (KNOWN_CAP - 1)) {
		if (!memcmp(rv_known_tab[h].sid, k, 16))
			return;
	}
	memcpy(rv_known_tab[h].sid, k, 16);
	memcpy(rv_known_tab[h].sub, u, 16);
	rv_known_tab[h].used = 1;
	rv_known_count++;
}

/* Drop what no live token can name; reload after an overflow. */
static void
rv_prune(void *arg, u_int64_t now_ms)
{
	time_t		now;

	(void)arg;
	(void)now_ms;
	now = time(NULL);
	uuidset_prune(&rv_set, (int64_t)now - cfg.access_ttl_s -
	    REVOKE_SLACK_S);
	/* Entries were dropped while full: reload from scratch. */
	if (rv_set.overflow && rv_set.count < REVOKE_MAX_ENTRIES / 2)
		(void)sidedb_reload("reloading after overflow");
}

/* The side connection (re)connects: the backlog follows. */
static void
rv_reset(void)
{
	uuidset_reset_overflow(&rv_set);
}

static void
rv_loaded(void)
{
	kore_log(LOG_NOTICE, "revoke: listening, %zu revoked sessions "
	    "cached", rv_set.count);
}

static void
rv_load_rows(PGresult *res)
{
	uint8_t		key[16];
	int		i, n;

	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if (uuid_parse(PQgetvalue(res, i, 0), key) == 0)
			rv_insert(key, strtoll(PQgetvalue(res, i, 1), NULL,
			    10));
	}
}

/* Add to the set; the first key refused is worth a warning. */
static void
rv_insert(const uint8_t key[16], int64_t at)
{
	int	was;

	if (!rv_started)
		return;
	was = rv_set.overflow;
	if (uuidset_add(&rv_set, key, at) == -1 && !was)
		kore_log(LOG_WARNING, "revoke: cache full, checking sessions "
		    "in the database");
}
