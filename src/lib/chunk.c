/*
 * chunk.c -- split extracted text into retrieval chunks.
 *
 * From each chunk's first non-space character the text is scanned forward
 * at most max code points, recording every place a chunk could end: blank
 * lines, sentence ends, line breaks and spaces, in that order of
 * preference.  The best kind of break at least min long wins, the one
 * nearest the target among equals.  A run with no break at all (a very
 * long word, CJK without stops) is cut at a code point boundary, avoiding
 * the inside of a combining sequence.  Offsets are kept in bytes and in
 * code points at once, so one pass yields both.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "utf8.h"
#include "sniff.h"

/* Kinds of break, better ones higher. */
#define BRK_NONE	0
#define BRK_SPACE	1
#define BRK_LINE	2
#define BRK_SENTENCE	3
#define BRK_PARAGRAPH	4

#define CHUNK_INITIAL_CAP	16

struct cur {
	size_t	b;	/* byte offset */
	size_t	c;	/* code point offset */
};

struct brk {
	int		level;
	size_t		n;	/* content length in code points */
	struct cur	end;	/* content end (exclusive) */
	struct cur	next;	/* where the following text starts */
};

/* One scan from a chunk's start. */
struct chunk_scan {
	const unsigned char		*t;
	size_t				 len;
	const struct chunk_params	*prm;
	struct cur			 s;	/* the chunk's start */
	struct cur			 c;	/* the scan */
	struct cur			 hard;	/* a cut inside a word */
	struct cur			 tgt;	/* target code points in */
	struct cur			 content_end;
	struct brk			 best;
	struct brk			 fallback;	/* best too short */
	size_t				 n;	/* code points scanned */
	uint32_t			 prev;
	int				 stop;	/* after a sentence end */
	int				 done;	/* only space is left */
};

struct chunk_list {
	struct chunk_span	*v;
	size_t			 n;
	size_t			 cap;
};

static uint32_t	chunk_decode(const unsigned char *, size_t, size_t,
		    size_t *);
static int	chunk_is_space(uint32_t);
static int	chunk_is_stop(uint32_t);
static int	chunk_is_cjk_stop(uint32_t);
static int	chunk_is_closer(uint32_t);
static int	chunk_is_extender(uint32_t);
static void	chunk_skip_space(const unsigned char *, size_t, struct cur *);
static int	chunk_push(struct chunk_list *, struct cur, struct cur,
		    const size_t *, size_t);
static int	chunk_better(const struct brk *, const struct brk *,
		    const struct chunk_params *);
static void	chunk_scan(struct chunk_scan *);
static void	chunk_scan_char(struct chunk_scan *, uint32_t, size_t);
static int	chunk_scan_space(struct chunk_scan *);
static void	chunk_offer(struct chunk_scan *, const struct brk *);

int
chunk_split(const char *text, size_t len, const size_t *page_starts,
    size_t npages, struct chunk_span **out, size_t *nout)
{
	struct chunk_params	 p = { CHUNK_TARGET, CHUNK_MIN, CHUNK_MAX };

	return (chunk_split_params(text, len, page_starts, npages, &p, out,
	    nout));
}

int
chunk_split_params(const char *text, size_t len, const size_t *page_starts,
    size_t npages, const struct chunk_params *prm, struct chunk_span **out,
    size_t *nout)
{
	struct chunk_list	 list = { NULL, 0, 0 };
	struct chunk_scan	 sc;

	*out = NULL;
	*nout = 0;
	if (prm->min < 1 || prm->min > prm->target ||
	    prm->target > prm->max)
		return (-1);
	if (len > 0 && (text == NULL || !utf8_valid(text, len)))
		return (-1);

	memset(&sc, 0, sizeof(sc));
	sc.t = (const unsigned char *)text;
	sc.len = len;
	sc.prm = prm;
	chunk_skip_space(sc.t, len, &sc.s);
	while (sc.s.b < len) {
		chunk_scan(&sc);
		if ((sc.done || sc.c.b >= len) &&
		    sc.content_end.c - sc.s.c <= prm->max) {
			/* The rest fits in one chunk. */
			if (chunk_push(&list, sc.s, sc.content_end,
			    page_starts, npages) == -1)
				goto fail;
			break;
		}
		if (sc.best.level == BRK_NONE)
			sc.best = sc.fallback;
		if (sc.best.level == BRK_NONE) {
			/* Only combining marks in reach: cut anyway. */
			if (sc.hard.b == 0)
				sc.hard = sc.tgt;
			sc.best.end = sc.best.next = sc.hard;
		}
		if (chunk_push(&list, sc.s, sc.best.end, page_starts,
		    npages) == -1)
			goto fail;
		sc.s = sc.best.next;
		chunk_skip_space(sc.t, len, &sc.s);
	}
	*out = list.v;
	*nout = list.n;
	return (0);

fail:
	free(list.v);
	return (-1);
}

int
chunk_page_of(const size_t *page_starts, size_t npages, size_t pos)
{
	size_t	 lo, hi, mid;

	if (npages == 0)
		return (0);
	/* The last page whose start is <= pos. */
	lo = 0;
	hi = npages;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (page_starts[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return ((int)lo + 1);
}

/*
 * Is cand a better end than best?  Breaks shorter than min never are
 * (they are kept as a fallback by the caller); then the better kind wins,
 * then the length nearer the target.
 */
static int
chunk_better(const struct brk *cand, const struct brk *best,
    const struct chunk_params *prm)
{
	size_t	 dc, db;

	if (cand->n < prm->min || cand->n > prm->max)
		return (0);
	if (best->level == BRK_NONE || cand->level > best->level)
		return (1);
	if (cand->level < best->level)
		return (0);
	dc = cand->n > prm->target ? cand->n - prm->target :
	    prm->target - cand->n;
	db = best->n > prm->target ? best->n - prm->target :
	    prm->target - best->n;
	return (dc < db);
}

static int
chunk_push(struct chunk_list *l, struct cur start, struct cur end,
    const size_t *page_starts, size_t npages)
{
	struct chunk_span	*v, *sp;
	size_t			 cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? CHUNK_INITIAL_CAP : l->cap * 2;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return (-1);
		l->v = v;
		l->cap = cap;
	}
	sp = &l->v[l->n++];
	sp->byte_off = start.b;
	sp->byte_len = end.b - start.b;
	sp->start_char = start.c;
	sp->end_char = end.c;
	sp->page_start = chunk_page_of(page_starts, npages, start.c);
	sp->page_end = chunk_page_of(page_starts, npages, end.c - 1);
	return (0);
}

static void
chunk_skip_space(const unsigned char *t, size_t len, struct cur *c)
{
	size_t	 nb;

	while (c->b < len && chunk_is_space(chunk_decode(t, len, c->b, &nb))) {
		c->b += nb;
		c->c++;
	}
}

/* Decode the code point at t[i]; the text was validated beforehand. */
static uint32_t
chunk_decode(const unsigned char *t, size_t len, size_t i, size_t *nb)
{
	uint32_t	 cp;
	size_t		 n, k;

	if (t[i] < 0x80) {
		*nb = 1;
		return (t[i]);
	}
	if ((t[i] & 0xe0) == 0xc0) {
		n = 2;
		cp = t[i] & 0x1f;
	} else if ((t[i] & 0xf0) == 0xe0) {
		n = 3;
		cp = t[i] & 0x0f;
	} else {
		n = 4;
		cp = t[i] & 0x07;
	}
	for (k = 1; k < n && i + k < len; k++)
		cp = (cp << 6) | (t[i + k] & 0x3f);
	*nb = n;
	return (cp);
}

/*
 * White space a chunk may break at.  The no-break spaces (U+00A0, U+2007,
 * U+202F) are deliberately not in the set.
 */
static int
chunk_is_space(uint32_t cp)
{
	return ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0x1680 || (cp >= 0x2000 && cp <= 0x2006) ||
	    (cp >= 0x2008 && cp <= 0x200a) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0x205f || cp == 0x3000);
}

/* Ends a sentence when white space follows. */
static int
chunk_is_stop(uint32_t cp)
{
	return (cp == '.' || cp == '!' || cp == '?' || cp == ';' ||
	    cp == 0x2026 || cp == 0x037e || chunk_is_cjk_stop(cp));
}

/* Ends a sentence even with no space after it. */
static int
chunk_is_cjk_stop(uint32_t cp)
{
	return (cp == 0x3002 || cp == 0xff01 || cp == 0xff1f ||
	    cp == 0xff0e);
}

/* Closing quotes and brackets that may follow a sentence's stop. */
static int
chunk_is_closer(uint32_t cp)
{
	return (cp == '"' || cp == '\'' || cp == ')' || cp == ']' ||
	    cp == 0x00bb || cp == 0x2019 || cp == 0x201d || cp == 0x300d ||
	    cp == 0x300f);
}

/* Code points that attach to the one before: never cut in front. */
static int
chunk_is_extender(uint32_t cp)
{
	return ((cp >= 0x0300 && cp <= 0x036f) ||
	    (cp >= 0x1ab0 && cp <= 0x1aff) ||
	    (cp >= 0x1dc0 && cp <= 0x1dff) ||
	    (cp >= 0x20d0 && cp <= 0x20ff) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xfe20 && cp <= 0xfe2f) ||
	    cp == 0x200c || cp == 0x200d ||
	    (cp >= 0x1f3fb && cp <= 0x1f3ff) ||
	    (cp >= 0xe0020 && cp <= 0xe007f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef));
}

/*
 * Scan from sc->s at most max code points (or to the end: sc->done when
 * only white space is left), recording the breaks found.
 */
static void
chunk_scan(struct chunk_scan *sc)
{
	uint32_t	cp;
	size_t		nb;

	sc->best.level = sc->fallback.level = BRK_NONE;
	sc->hard.b = sc->hard.c = 0;
	sc->c = sc->content_end = sc->tgt = sc->s;
	sc->n = 0;
	sc->prev = 0;
	sc->stop = 0;
	sc->done = 0;
	while (sc->c.b < sc->len && sc->n <= sc->prm->max) {
		cp = chunk_decode(sc->t, sc->len, sc->c.b, &nb);
		if (!chunk_is_space(cp))
			chunk_scan_char(sc, cp, nb);
		else if (chunk_scan_space(sc)) {
			sc->done = 1;	/* only white space is left */
			break;
		}
	}
}

/* One character of content at sc->c. */
static void
chunk_scan_char(struct chunk_scan *sc, uint32_t cp, size_t nb)
{
	struct brk	cand;

	if (sc->n == sc->prm->target)
		sc->tgt = sc->c;
	/* A cut before c is fine unless it splits a combining sequence. */
	if (sc->n > 0 && sc->n <= sc->prm->target &&
	    !chunk_is_extender(cp) && sc->prev != 0x200d)
		sc->hard = sc->c;
	sc->stop = chunk_is_stop(cp) || (sc->stop && chunk_is_closer(cp));
	sc->c.b += nb;
	sc->c.c++;
	sc->n++;
	sc->content_end = sc->c;
	sc->prev = cp;
	if (chunk_is_cjk_stop(cp) && sc->n <= sc->prm->max) {
		cand.level = BRK_SENTENCE;
		cand.n = sc->n;
		cand.end = cand.next = sc->c;
		chunk_offer(sc, &cand);
	}
}

/*
 * A run of white space at sc->c: one candidate break.  1 when it runs
 * to the end of the text.
 */
static int
chunk_scan_space(struct chunk_scan *sc)
{
	struct brk	cand;
	struct cur	a;
	uint32_t	cp;
	size_t		nb, nl;

	a = sc->c;
	nl = 0;
	while (sc->c.b < sc->len) {
		cp = chunk_decode(sc->t, sc->len, sc->c.b, &nb);
		if (!chunk_is_space(cp))
			break;
		if (cp == '\n')
			nl++;
		sc->c.b += nb;
		sc->c.c++;
		sc->n++;
	}
	if (sc->c.b >= sc->len)
		return (1);
	cand.level = nl >= 2 ? BRK_PARAGRAPH : sc->stop ? BRK_SENTENCE :
	    nl == 1 ? BRK_LINE : BRK_SPACE;
	cand.n = a.c - sc->s.c;
	cand.end = a;
	cand.next = sc->c;
	sc->stop = 0;
	sc->prev = 0;
	chunk_offer(sc, &cand);
	return (0);
}

/* The best break so far, or the fallback when too short. */
static void
chunk_offer(struct chunk_scan *sc, const struct brk *cand)
{
	if (chunk_better(cand, &sc->best, sc->prm))
		sc->best = *cand;
	else if (cand->n < sc->prm->min)
		sc->fallback = *cand;
}
