/*
 * The SSE parser: a stream fed in pieces of varying size gives the same
 * events as the stream fed whole, and no event passes the bound.
 */
#include "sse.h"
#include "fuzz.h"

#define MAXEV	4096

struct acc {
	uint64_t	h;
	size_t		n;
};

static int
ev(void *arg, const char *name, const char *data, size_t len)
{
	struct acc	*a = arg;
	size_t		 i;

	FUZZ_CHECK(len <= MAXEV);
	FUZZ_CHECK(name != NULL && strlen(name) <= SSE_MAX_EVENT_NAME);
	FUZZ_CHECK(data[len] == '\0');
	for (i = 0; name[i] != '\0'; i++)
		a->h = a->h * 1099511628211ULL ^ (unsigned char)name[i];
	a->h = a->h * 1099511628211ULL ^ 0x100;
	for (i = 0; i < len; i++)
		a->h = a->h * 1099511628211ULL ^ (unsigned char)data[i];
	a->n++;
	return (0);
}

static int
run(const uint8_t *data, size_t len, size_t step, struct acc *a)
{
	struct sse_parser	 p;
	size_t			 i, n;
	int			 rc = SSE_OK;

	a->h = 14695981039346656037ULL;
	a->n = 0;
	sse_init(&p, MAXEV, ev, a);
	for (i = 0; i < len && rc == SSE_OK; i += n) {
		n = len - i < step ? len - i : step;
		rc = sse_feed(&p, (const char *)data + i, n);
	}
	if (rc == SSE_OK)
		rc = sse_finish(&p);
	sse_free(&p);
	return (rc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct acc	 whole, bytes, odd;
	int		 r1, r2, r3;
	char		*f, *s;
	size_t		 flen;

	if (len == 0)
		return (0);
	r1 = run(data + 1, len - 1, len, &whole);
	r2 = run(data + 1, len - 1, 1, &bytes);
	r3 = run(data + 1, len - 1, 1 + data[0] % 61, &odd);
	FUZZ_CHECK(r1 == r2 && r2 == r3);
	if (r1 == SSE_OK) {
		FUZZ_CHECK(whole.n == bytes.n && whole.n == odd.n);
		FUZZ_CHECK(whole.h == bytes.h && whole.h == odd.h);
	}
	/* Formatting what we send never fails on bounded input. */
	s = fuzz_str(data, len);
	if ((f = sse_format("message", s, &flen)) != NULL) {
		FUZZ_CHECK(run((const uint8_t *)f, flen, flen, &whole) ==
		    SSE_OK || flen > MAXEV);
		free(f);
	}
	free(s);
	return (0);
}
