/*
 * The chunker: spans of valid text are in order, inside the text, within
 * the size bound, on code point boundaries and on the right pages.  The
 * first two bytes pick the page count and the sizes; pages start at even
 * splits of the length (offsets in code points, as the extractor gives).
 */
#include "chunk.h"
#include "utf8.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct chunk_params	 prm;
	struct chunk_span	*sp;
	size_t			 ps[16], np, n, i, prev_end;
	const char		*t;
	int			 rc;

	if (len < 2)
		return (0);
	np = data[0] % 17;
	prm.min = 1 + data[1] % 40;
	prm.target = prm.min + data[1] % 23;
	prm.max = prm.target + data[1] % 31;
	t = (const char *)data + 2;
	len -= 2;
	for (i = 0; i < np && i < 16; i++)
		ps[i] = len * i / (np == 0 ? 1 : np);
	np = np > 16 ? 16 : np;

	rc = data[1] & 0x80 ?
	    chunk_split(t, len, ps, np, &sp, &n) :
	    chunk_split_params(t, len, ps, np, &prm, &sp, &n);
	if (!utf8_valid(t, len)) {
		FUZZ_CHECK(rc == -1);
		return (0);
	}
	if (rc == -1)
		return (0);
	prev_end = 0;
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(sp[i].byte_len > 0);
		FUZZ_CHECK(sp[i].byte_off + sp[i].byte_len <= len);
		FUZZ_CHECK(i == 0 || sp[i].byte_off >= prev_end);
		FUZZ_CHECK(utf8_valid(t + sp[i].byte_off, sp[i].byte_len));
		FUZZ_CHECK(sp[i].end_char - sp[i].start_char ==
		    (size_t)utf8_codepoints(t + sp[i].byte_off,
		    sp[i].byte_len));
		FUZZ_CHECK(sp[i].end_char - sp[i].start_char <=
		    (data[1] & 0x80 ? CHUNK_MAX : prm.max));
		FUZZ_CHECK(sp[i].page_start <= sp[i].page_end);
		FUZZ_CHECK(sp[i].page_start ==
		    chunk_page_of(ps, np, sp[i].start_char));
		FUZZ_CHECK(sp[i].page_end ==
		    chunk_page_of(ps, np, sp[i].end_char - 1));
		prev_end = sp[i].byte_off + sp[i].byte_len;
	}
	free(sp);
	return (0);
}
