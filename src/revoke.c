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

#define REVOKE_CHANNEL		"session_revoked"
#define REVOKE_PRUNE_S		60
/* Clock skew allowed between the database and the workers. */
#define REVOKE_SLACK_S		60
#define REVOKE_INIT_CAP		1024
#define REVOKE_MAX_ENTRIES	(1 << 20)

struct rv_entry {
	uint8_t		key[16];
	int64_t		at;		/* revoked at, Unix seconds */
};

static void	rv_prune(void *, u_int64_t);
static void	rv_reset(void);
static void	rv_loaded(void);
static void	rv_add_local(const char *);
static void	rv_load_rows(PGresult *);
static int	rv_key(const char *, uint8_t [16]);
static void	rv_insert(const uint8_t [16], int64_t);
static void	rv_put(struct rv_entry *, size_t, const uint8_t [16], int64_t);
static void	rv_rebuild(size_t, int64_t);
static size_t	rv_hash(const uint8_t [16], size_t);

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
	(void)snprintf(rv_secs, sizeof(rv_secs), "%d",
	    cfg.access_ttl_s + REVOKE_SLACK_S);
	rv_rebuild(REVOKE_INIT_CAP, 0);
	(void)kore_timer_add(rv_prune, REVOKE_PRUNE_S * 1000, NULL, 0);
	sidedb_init(conninfo, &rv_listener);
}

int
revoke_live(void)
{
	return (rv_started && !rv_overflow && sidedb_live());
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

/* Drop what no live token can name; reload after an overflow. */
static void
rv_prune(void *arg, u_int64_t now_ms)
{
	time_t		now;

	(void)arg;
	(void)now_ms;
	now = time(NULL);
	rv_rebuild(rv_cap, (int64_t)now - cfg.access_ttl_s - REVOKE_SLACK_S);
	/* Entries were dropped while full: reload from scratch. */
	if (rv_overflow && rv_count < REVOKE_MAX_ENTRIES / 2)
		(void)sidedb_reload("reloading after overflow");
}

/* The side connection (re)connects: the backlog follows. */
static void
rv_reset(void)
{
	rv_overflow = 0;
}

static void
rv_loaded(void)
{
	kore_log(LOG_NOTICE, "revoke: listening, %zu revoked sessions "
	    "cached", rv_count);
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
