/*
 * Local counting for the per-user rate limit.  A table per worker maps a
 * key ("user:<uuid>") to the minute it counts, the count the database
 * last reported (seen) and what this worker has allowed since (pending).
 * Every RL_FLUSH_MS the pending counts go to rate_limits in one statement
 * on the worker's side connection (src/sidedb.c), which also brings back
 * the global counts.  A request is allowed locally while its pending
 * count stays within 1/RL_SHARE of what is left; past that it takes the
 * exact path in the database (src/auth_mw.c).  Small limits therefore
 * always take the exact path; large ones almost never do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "ratelimit.h"
#include "sidedb.h"
#include "lib/ratewin.h"

#define RL_KEY_MAX		64
#define RL_BATCH_MAX		512

struct rl_entry {
	char		key[RL_KEY_MAX];
	long		minute;
	long		seen;
	long		pending;
	long		flushing;	/* in the statement in flight */
};

static struct rl_entry	*rl_tab;
static size_t		rl_cap;
static size_t		rl_used;
static int		rl_inflight;
static long		rl_inflight_minute;

static const char sql_rl_flush[] =
    "INSERT INTO rate_limits AS rl (key, window_start, count) "
    "SELECT k, to_timestamp($3::bigint * 60), c "
    "FROM unnest($1::text[], $2::int[]) AS t(k, c) "
    "ON CONFLICT (key, window_start) DO UPDATE "
    "SET count = rl.count + excluded.count "
    "RETURNING key, count";

static void		 rl_tick(void *, u_int64_t);
static void		 rl_flushed(PGresult *, int, void *);
static struct rl_entry	*rl_find(const char *, int);
static long		 rl_minute(void);

void
ratelimit_init(void)
{
	if (rl_tab != NULL)
		return;
	rl_cap = 1024;
	rl_tab = kore_calloc(rl_cap, sizeof(*rl_tab));
	(void)kore_timer_add(rl_tick, RL_FLUSH_MS, NULL, 0);
}

int
ratelimit_local(const char *key, long limit, struct rl_verdict *v)
{
	struct rl_entry	*e;
	long		minute, remaining;

	minute = rl_minute();
	if ((e = rl_find(key, 1)) == NULL)
		return (0);
	if (e->minute != minute) {
		e->minute = minute;
		e->seen = 0;
		e->pending = 0;
	}
	if (!ratewin_local(limit, e->seen, e->pending, e->flushing, RL_SHARE,
	    &remaining))
		return (0);
	e->pending++;
	v->set = 1;
	v->limit = limit;
	v->remaining = remaining;
	v->reset = ratewin_reset(minute);
	return (1);
}

void
ratelimit_counted(struct rl_verdict *v, long limit, const char *count,
    const char *reset)
{
	if (count == NULL || reset == NULL)
		return;
	v->set = 1;
	v->limit = limit;
	v->remaining = limit - strtol(count, NULL, 10);
	v->reset = strtol(reset, NULL, 10);
}

long
ratelimit_take(const char *key)
{
	struct rl_entry	*e;
	long		n;

	if ((e = rl_find(key, 0)) == NULL || e->minute != rl_minute())
		return (0);
	n = e->pending;
	e->pending = 0;
	return (n);
}

void
ratelimit_seen(const char *key, long count, long reset)
{
	struct rl_entry	*e;

	if ((e = rl_find(key, 1)) == NULL)
		return;
	if (e->minute != ratewin_of_reset(reset)) {
		e->minute = ratewin_of_reset(reset);
		e->pending = 0;
		e->flushing = 0;
	}
	if (count > e->seen)
		e->seen = count;
}

static void
rl_tick(void *arg, u_int64_t now)
{
	struct kore_buf	keys, counts;
	const char	*params[3];
	char		minute[32], *k, *c;
	size_t		i, n;
	long		m;

	(void)arg;
	(void)now;
	if (rl_inflight || rl_used == 0)
		return;

	m = rl_minute();
	kore_buf_init(&keys, 1024);
	kore_buf_init(&counts, 256);
	kore_buf_append(&keys, "{", 1);
	kore_buf_append(&counts, "{", 1);
	for (i = 0, n = 0; i < rl_cap && n < RL_BATCH_MAX; i++) {
		if (rl_tab[i].key[0] == '\0' || rl_tab[i].minute != m ||
		    rl_tab[i].pending == 0)
			continue;
		/* Keys are "user:<uuid>": no quoting needed in the literal. */
		kore_buf_appendf(&keys, "%s\"%s\"", n ? "," : "",
		    rl_tab[i].key);
		kore_buf_appendf(&counts, "%s%ld", n ? "," : "",
		    rl_tab[i].pending);
		rl_tab[i].flushing += rl_tab[i].pending;
		rl_tab[i].pending = 0;
		n++;
	}
	kore_buf_append(&keys, "}", 1);
	kore_buf_append(&counts, "}", 1);

	if (n > 0) {
		k = kore_buf_stringify(&keys, NULL);
		c = kore_buf_stringify(&counts, NULL);
		(void)snprintf(minute, sizeof(minute), "%ld", m);
		params[0] = k;
		params[1] = c;
		params[2] = minute;
		rl_inflight_minute = m;
		if (sidedb_query(sql_rl_flush, 3, params, rl_flushed,
		    NULL))
			rl_inflight = 1;
		else
			rl_flushed(NULL, 0, NULL);
	}
	kore_buf_cleanup(&keys);
	kore_buf_cleanup(&counts);
}

/* Results of the flush: the global counts; at the end, clear flushing. */
static void
rl_flushed(PGresult *res, int ok, void *arg)
{
	struct rl_entry	*e;
	size_t		i;
	int		row;

	(void)arg;
	if (res != NULL) {
		for (row = 0; row < PQntuples(res); row++) {
			e = rl_find(PQgetvalue(res, row, 0), 0);
			if (e != NULL && e->minute == rl_inflight_minute)
				e->seen = strtol(PQgetvalue(res, row, 1),
				    NULL, 10);
		}
		return;
	}
	for (i = 0; i < rl_cap; i++) {
		if (rl_tab[i].flushing == 0)
			continue;
		/* Not recorded: count it again next time. */
		if (!ok && rl_tab[i].minute == rl_inflight_minute)
			rl_tab[i].pending += rl_tab[i].flushing;
		rl_tab[i].flushing = 0;
	}
	rl_inflight = 0;
}

static long
rl_minute(void)
{
	return (ratewin_minute(time(NULL)));
}

static size_t
rl_hash(const char *key)
{
	size_t		h;

	for (h = 5381; *key != '\0'; key++)
		h = h * 33 + (unsigned char)*key;
	return (h);
}

/*
 * Find key; with add, insert it.  When the table is full of this and
 * other minutes' keys, stale ones are dropped first; NULL if still full
 * (the caller then takes the exact path).
 */
static struct rl_entry *
rl_find(const char *key, int add)
{
	struct rl_entry	*old;
	size_t		i, oldcap, h;
	long		m;

	if (rl_tab == NULL || strlen(key) >= RL_KEY_MAX)
		return (NULL);
	for (h = rl_hash(key) & (rl_cap - 1);; h = (h + 1) & (rl_cap - 1)) {
		if (rl_tab[h].key[0] == '\0')
			break;
		if (!strcmp(rl_tab[h].key, key))
			return (&rl_tab[h]);
	}
	if (!add)
		return (NULL);

	if ((rl_used + 1) * 2 > rl_cap) {
		if (rl_inflight)
			return (NULL);
		/* Rebuild: keep this minute's keys, grow when needed. */
		m = rl_minute();
		old = rl_tab;
		oldcap = rl_cap;
		if (rl_used * 2 >= rl_cap / 2 && rl_cap < RL_TABLE_MAX * 2)
			rl_cap *= 2;
		rl_tab = kore_calloc(rl_cap, sizeof(*rl_tab));
		rl_used = 0;
		for (i = 0; i < oldcap; i++) {
			if (old[i].key[0] == '\0' || old[i].minute != m)
				continue;
			h = rl_hash(old[i].key) & (rl_cap - 1);
			while (rl_tab[h].key[0] != '\0')
				h = (h + 1) & (rl_cap - 1);
			rl_tab[h] = old[i];
			rl_used++;
		}
		kore_free(old);
		if ((rl_used + 1) * 2 > rl_cap)
			return (NULL);
		for (h = rl_hash(key) & (rl_cap - 1); rl_tab[h].key[0] != '\0';
		    h = (h + 1) & (rl_cap - 1))
			;
	}
	(void)kore_strlcpy(rl_tab[h].key, key, sizeof(rl_tab[h].key));
	rl_tab[h].minute = rl_minute();
	rl_tab[h].seen = rl_tab[h].pending = rl_tab[h].flushing = 0;
	rl_used++;
	return (&rl_tab[h]);
}
