/*
 * test_chunk.c -- chunking: exact code point offsets, natural boundaries,
 * page mapping, and a property loop over generated texts.
 */

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

#define GEN_TEXTS	60
#define GEN_MAX_BYTES	40000

static size_t	cp_count(const char *, size_t);
static size_t	cp_to_byte(const char *, size_t, size_t);
static uint32_t	cp_at(const char *, size_t, size_t *);
static int	is_ws(uint32_t);
static void	check_invariants(const char *, size_t,
		    const struct chunk_span *, size_t, size_t);
static char	*gen_text(unsigned int *, size_t *);

/* Python-style len(): code points, decoded independently of chunk.c. */
static size_t
cp_count(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

static size_t
cp_to_byte(const char *s, size_t len, size_t cp)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == cp)
				return (i);
			n++;
		}
	}
	return (len);
}

static uint32_t
cp_at(const char *s, size_t len, size_t *i)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n, k;

	if (p[*i] < 0x80) {
		return (p[(*i)++]);
	}
	n = p[*i] >= 0xf0 ? 4 : p[*i] >= 0xe0 ? 3 : 2;
	cp = p[*i] & (0x7f >> n);
	for (k = 1; k < n && *i + k < len; k++)
		cp = (cp << 6) | (p[*i + k] & 0x3f);
	*i += n;
	return (cp);
}

static int
is_ws(uint32_t cp)
{
	return (cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r' ||
	    cp == 0x3000 || cp == 0x2028);
}

/*
 * For every chunk: text[start:end] (code points) is exactly the bytes the
 * span names; no chunk is empty, longer than max, or starts/ends with
 * white space; chunks are in order without overlap; and everything
 * outside the chunks is white space, so no content is lost.
 */
static void
check_invariants(const char *text, size_t len, const struct chunk_span *c,
    size_t n, size_t max)
{
	size_t		 i, b0, b1, prev_end_b, j;
	uint32_t	 cp, last;

	prev_end_b = 0;
	for (i = 0; i < n; i++) {
		b0 = cp_to_byte(text, len, c[i].start_char);
		b1 = cp_to_byte(text, len, c[i].end_char);
		cr_assert_eq(b0, c[i].byte_off, "chunk %zu byte_off", i);
		cr_assert_eq(b1 - b0, c[i].byte_len, "chunk %zu byte_len", i);
		cr_assert_gt(c[i].end_char, c[i].start_char, "chunk %zu empty",
		    i);
		cr_assert_leq(c[i].end_char - c[i].start_char, max,
		    "chunk %zu too long", i);
		cr_assert_eq(cp_count(text + b0, b1 - b0),
		    c[i].end_char - c[i].start_char);
		if (i > 0)
			cr_assert_leq(c[i - 1].end_char, c[i].start_char,
			    "chunks %zu and %zu overlap", i - 1, i);
		/* The gap before this chunk is white space only. */
		for (j = prev_end_b; j < b0; )
			cr_assert(is_ws(cp_at(text, len, &j)),
			    "content lost before chunk %zu", i);
		j = b0;
		cp = cp_at(text, len, &j);
		cr_assert(!is_ws(cp), "chunk %zu starts with space", i);
		last = cp;
		while (j < b1)
			last = cp_at(text, len, &j);
		cr_assert(!is_ws(last), "chunk %zu ends with space", i);
		prev_end_b = b1;
	}
	for (j = prev_end_b; j < len; )
		cr_assert(is_ws(cp_at(text, len, &j)), "content lost at end");
}

Test(chunk, empty_text_has_no_chunks)
{
	struct chunk_span	*c = NULL;
	size_t			 n = 99;

	cr_assert_eq(chunk_split("", 0, NULL, 0, &c, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(c);
}

Test(chunk, whitespace_only_text_has_no_chunks)
{
	const char		*t = "  \n\n\t \xe3\x80\x80 \r\n ";
	struct chunk_span	*c = NULL;
	size_t			 n = 99;

	cr_assert_eq(chunk_split(t, strlen(t), NULL, 0, &c, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(c);
}

Test(chunk, short_text_is_one_trimmed_chunk)
{
	const char		*t = "\n  Hello, world.  \n";
	struct chunk_span	*c = NULL;
	size_t			 n = 0;

	cr_assert_eq(chunk_split(t, strlen(t), NULL, 0, &c, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(c[0].start_char, 3);
	cr_assert_eq(c[0].end_char, 16);
	cr_assert_eq(c[0].page_start, 0);
	cr_assert_eq(c[0].page_end, 0);
	cr_assert_eq(memcmp(t + c[0].byte_off, "Hello, world.", 13), 0);
	check_invariants(t, strlen(t), c, n, CHUNK_MAX);
	free(c);
}

Test(chunk, invalid_utf8_is_refused)
{
	struct chunk_span	*c = NULL;
	size_t			 n = 0;

	cr_assert_eq(chunk_split("ab\xc3(", 4, NULL, 0, &c, &n), -1);
	cr_assert_eq(chunk_split("\xed\xa0\x80", 3, NULL, 0, &c, &n), -1);
}

Test(chunk, ascii_text_splits_near_target_on_sentence_ends)
{
	char			*t;
	struct chunk_span	*c = NULL;
	size_t			 n = 0, i, len = 0, cap = 20000;
	const char		*sent = "The tenant shall pay the rent. ";

	t = malloc(cap);
	while (len + strlen(sent) < cap - 1) {
		memcpy(t + len, sent, strlen(sent));
		len += strlen(sent);
	}
	t[len] = '\0';
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_gt(n, 10);
	for (i = 0; i + 1 < n; i++) {
		cr_assert_eq(t[c[i].byte_off + c[i].byte_len - 1], '.',
		    "chunk %zu does not end a sentence", i);
		cr_assert_geq(c[i].end_char - c[i].start_char, CHUNK_MIN);
		cr_assert_leq(c[i].end_char - c[i].start_char, CHUNK_MAX);
	}
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
	free(t);
}

Test(chunk, paragraph_break_preferred_over_sentence_end)
{
	char			 t[4000];
	struct chunk_span	*c = NULL;
	size_t			 n = 0, len;

	/* 700 chars of sentences, a blank line, then more sentences. */
	memset(t, 0, sizeof(t));
	while (strlen(t) < 700)
		strcat(t, "A short clause here. ");
	strcat(t, "End.\n\n");
	while (strlen(t) < 3000)
		strcat(t, "Another clause there. ");
	len = strlen(t);
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_geq(n, 2);
	cr_assert_eq(memcmp(t + c[0].byte_off + c[0].byte_len - 4, "End.", 4),
	    0);
	cr_assert_eq(memcmp(t + c[1].byte_off, "Another", 7), 0);
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
}

Test(chunk, non_ascii_offsets_count_code_points)
{
	const char *words[] = {
	    "Vertragsänderung", "größer", "Straße", "déjà", "élève",
	    "Ελληνικά", "σύμβαση", "契約書", "弁護士", "😀", "👩‍⚖️", "naïve"
	};
	char			*t;
	struct chunk_span	*c = NULL;
	size_t			 n = 0, len = 0, i, k;

	t = malloc(60000);
	for (i = 0; len < 50000; i++) {
		k = (i * 7) % (sizeof(words) / sizeof(words[0]));
		memcpy(t + len, words[k], strlen(words[k]));
		len += strlen(words[k]);
		t[len++] = (i % 13 == 12) ? '.' : ' ';
		if (i % 13 == 12)
			t[len++] = ' ';
	}
	t[len] = '\0';
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_gt(n, 10);
	check_invariants(t, len, c, n, CHUNK_MAX);
	/* Spot check: the first chunk's code point length is its len(). */
	cr_assert_eq(c[0].end_char - c[0].start_char,
	    cp_count(t + c[0].byte_off, c[0].byte_len));
	cr_assert_neq(c[0].end_char - c[0].start_char, c[0].byte_len);
	free(c);
	free(t);
}

Test(chunk, cjk_without_spaces_breaks_after_full_stops)
{
	const char		*s = "本契約は当事者間の合意に基づく。";
	char			*t;
	struct chunk_span	*c = NULL;
	size_t			 n = 0, len = 0, i, sl = strlen(s);

	t = malloc(sl * 300 + 1);
	for (i = 0; i < 300; i++, len += sl)
		memcpy(t + len, s, sl);
	t[len] = '\0';
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_gt(n, 3);
	for (i = 0; i + 1 < n; i++)
		cr_assert_eq(memcmp(t + c[i].byte_off + c[i].byte_len - 3,
		    "。", 3), 0, "chunk %zu not cut after a stop", i);
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
	free(t);
}

Test(chunk, very_long_word_is_hard_split_on_code_points)
{
	char			*t;
	struct chunk_span	*c = NULL;
	size_t			 n = 0, len = 0, i;

	/* "intro " then 3500 two-byte letters with no break at all. */
	t = malloc(8000);
	memcpy(t, "intro ", 6);
	len = 6;
	for (i = 0; i < 3500; i++, len += 2)
		memcpy(t + len, "é", 2);
	t[len] = '\0';
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_geq(n, 4);
	/* The short word before is cut off rather than the long word cut. */
	cr_assert_eq(c[0].end_char, 5);
	for (i = 1; i < n; i++)
		cr_assert_eq(c[i].byte_len % 2, 0, "cut inside a code point");
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
	free(t);
}

Test(chunk, hard_split_keeps_combining_sequences_whole)
{
	char			*t;
	struct chunk_span	*c = NULL;
	size_t			 n = 0, len = 0, i, j;

	/* "e" + U+0301, repeated with no space: cuts only before "e". */
	t = malloc(12000);
	for (i = 0; i < 3001; i++, len += 3)
		memcpy(t + len, "e\xcc\x81", 3);
	t[len] = '\0';
	cr_assert_eq(chunk_split(t, len, NULL, 0, &c, &n), 0);
	cr_assert_geq(n, 3);
	for (i = 0; i < n; i++) {
		j = c[i].byte_off;
		cr_assert_eq(t[j], 'e', "chunk %zu starts mid-sequence", i);
	}
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
	free(t);
}

Test(chunk, pages_map_to_chunk_start_and_end)
{
	char			 t[8000];
	size_t			 starts[3], len, n = 0, i;
	struct chunk_span	*c = NULL;

	memset(t, 0, sizeof(t));
	starts[0] = 0;
	while (strlen(t) < 1500)
		strcat(t, "Page one words ");
	strcat(t, "\n\n");
	starts[1] = strlen(t);		/* ASCII: bytes == code points */
	while (strlen(t) < 2300)
		strcat(t, "Page two words ");
	strcat(t, "\n\n");
	starts[2] = strlen(t);
	while (strlen(t) < 4000)
		strcat(t, "Page three words ");
	len = strlen(t);
	cr_assert_eq(chunk_split(t, len, starts, 3, &c, &n), 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(c[i].page_start,
		    chunk_page_of(starts, 3, c[i].start_char));
		cr_assert_eq(c[i].page_end,
		    chunk_page_of(starts, 3, c[i].end_char - 1));
		cr_assert_leq(c[i].page_start, c[i].page_end);
	}
	cr_assert_eq(c[0].page_start, 1);
	cr_assert_eq(c[n - 1].page_end, 3);
	cr_assert_eq(chunk_page_of(starts, 3, 0), 1);
	cr_assert_eq(chunk_page_of(starts, 3, starts[1] - 1), 1);
	cr_assert_eq(chunk_page_of(starts, 3, starts[1]), 2);
	cr_assert_eq(chunk_page_of(starts, 3, starts[2]), 3);
	cr_assert_eq(chunk_page_of(starts, 3, len + 50), 3);
	cr_assert_eq(chunk_page_of(NULL, 0, 10), 0);
	check_invariants(t, len, c, n, CHUNK_MAX);
	free(c);
}

Test(chunk, chunk_spanning_a_page_break_reports_both_pages)
{
	const char		*t = "first page text\n\nsecond page text";
	size_t			 starts[2] = { 0, 17 };
	struct chunk_span	*c = NULL;
	size_t			 n = 0;

	cr_assert_eq(chunk_split(t, strlen(t), starts, 2, &c, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(c[0].page_start, 1);
	cr_assert_eq(c[0].page_end, 2);
	free(c);
}

Test(chunk, bad_parameters_are_refused)
{
	struct chunk_params	 p = { 10, 20, 30 };
	struct chunk_span	*c = NULL;
	size_t			 n = 0;

	cr_assert_eq(chunk_split_params("abc", 3, NULL, 0, &p, &c, &n), -1);
	p.min = 0;
	cr_assert_eq(chunk_split_params("abc", 3, NULL, 0, &p, &c, &n), -1);
}

/* Deterministic generator of texts mixing scripts, breaks, long words. */
static char *
gen_text(unsigned int *seed, size_t *lenp)
{
	static const char *pieces[] = {
	    "a", "the", "contract", "Vertrag", "über", "Größe", "été",
	    "ça", "Ελλάδα", "δίκαιο", "法律", "合同。", "😀", "👍🏽",
	    "e\xcc\x81", "end.", "(see art. 5).", "\"quoted.\"", "x",
	    "ﬁnal", "\xe2\x80\x8b"
	};
	static const char *seps[] = {
	    " ", " ", " ", " ", "  ", "\n", "\n\n", "\t", " \n \n ",
	    "\xe3\x80\x80", "\r\n", ""
	};
	char	*t;
	size_t	 len = 0, target, k, i, wl;

	t = malloc(GEN_MAX_BYTES + 64);
	target = (size_t)(rand_r(seed) % GEN_MAX_BYTES);
	if (rand_r(seed) % 4 == 0)
		t[len++] = ' ';
	while (len < target) {
		if (rand_r(seed) % 200 == 0) {
			/* A long word, sometimes longer than a chunk. */
			wl = (size_t)(rand_r(seed) % 3000);
			for (i = 0; i < wl && len < GEN_MAX_BYTES; i++)
				t[len++] = (char)('a' + rand_r(seed) % 26);
		} else {
			k = (size_t)rand_r(seed) %
			    (sizeof(pieces) / sizeof(pieces[0]));
			memcpy(t + len, pieces[k], strlen(pieces[k]));
			len += strlen(pieces[k]);
		}
		k = (size_t)rand_r(seed) % (sizeof(seps) / sizeof(seps[0]));
		memcpy(t + len, seps[k], strlen(seps[k]));
		len += strlen(seps[k]);
	}
	t[len] = '\0';
	*lenp = len;
	return (t);
}

Test(chunk, generated_texts_keep_slice_identity_and_cover_content)
{
	struct chunk_params	 small = { 40, 20, 60 };
	struct chunk_span	*c;
	unsigned int		 seed = 12345;
	size_t			 n, len, i, ncp, starts[4];
	char			*t;

	for (i = 0; i < GEN_TEXTS; i++) {
		t = gen_text(&seed, &len);
		ncp = cp_count(t, len);
		starts[0] = 0;
		starts[1] = ncp / 4;
		starts[2] = ncp / 2;
		starts[3] = ncp - ncp / 8;
		c = NULL;
		cr_assert_eq(chunk_split(t, len, starts, 4, &c, &n), 0,
		    "text %zu", i);
		check_invariants(t, len, c, n, CHUNK_MAX);
		free(c);
		c = NULL;
		cr_assert_eq(chunk_split_params(t, len, NULL, 0, &small, &c,
		    &n), 0, "text %zu (small)", i);
		check_invariants(t, len, c, n, small.max);
		free(c);
		free(t);
	}
}
