/*
 * jwtcache.c: a verified token is found again whole, and nothing else is.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jwtcache.h"

static struct jwtc	jc;

static void
claims(struct jwt_claims *c, const char *sub, int64_t exp)
{
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->sub, sizeof(c->sub), "%s", sub);
	(void)snprintf(c->role, sizeof(c->role), "user");
	c->iat = exp - 900;
	c->exp = exp;
}

Test(jwtcache, a_token_put_is_found_with_its_claims)
{
	struct jwt_claims	c, out;
	const char		*tok = "aaa.bbb.ccc";

	jwtc_init(&jc, 42);
	claims(&c, "11111111-1111-4111-8111-111111111111", 2000);
	cr_assert_not(jwtc_get(&jc, tok, strlen(tok), 1000, &out));
	jwtc_put(&jc, tok, strlen(tok), &c);
	cr_assert(jwtc_get(&jc, tok, strlen(tok), 1000, &out));
	cr_assert_str_eq(out.sub, c.sub);
	cr_assert_eq(out.exp, 2000);
}

Test(jwtcache, any_other_token_misses)
{
	struct jwt_claims	c, out;
	char			tok[64], other[64];
	size_t			i, len;

	jwtc_init(&jc, 7);
	claims(&c, "22222222-2222-4222-8222-222222222222", 2000);
	(void)snprintf(tok, sizeof(tok), "header.payload.signature");
	len = strlen(tok);
	jwtc_put(&jc, tok, len, &c);
	for (i = 0; i < len; i++) {
		memcpy(other, tok, len + 1);
		other[i] ^= 1;
		cr_assert_not(jwtc_get(&jc, other, len, 1000, &out), "%s",
		    other);
	}
	/* A prefix or an extension of it is another token. */
	cr_assert_not(jwtc_get(&jc, tok, len - 1, 1000, &out));
	memcpy(other, tok, len);
	other[len] = 'x';
	cr_assert_not(jwtc_get(&jc, other, len + 1, 1000, &out));
	cr_assert(jwtc_get(&jc, tok, len, 1000, &out));
}

Test(jwtcache, an_expired_token_is_not_answered)
{
	struct jwt_claims	c, out;
	const char		*tok = "x.y.z";

	jwtc_init(&jc, 1);
	claims(&c, "33333333-3333-4333-8333-333333333333", 2000);
	jwtc_put(&jc, tok, strlen(tok), &c);
	cr_assert(jwtc_get(&jc, tok, strlen(tok), 1999, &out));
	cr_assert_not(jwtc_get(&jc, tok, strlen(tok), 2000, &out));
	cr_assert_not(jwtc_get(&jc, tok, strlen(tok), 5000, &out));
}

Test(jwtcache, a_newer_token_replaces_the_one_in_its_slot)
{
	struct jwt_claims	c, out;
	char			tok[JWTC_SLOTS + 1][32];
	int			i, found;

	jwtc_init(&jc, 99);
	claims(&c, "44444444-4444-4444-8444-444444444444", 2000);
	/* More tokens than slots: two share one, the later one stays. */
	for (i = 0; i <= JWTC_SLOTS; i++) {
		(void)snprintf(tok[i], sizeof(tok[i]), "t.%d.s", i);
		jwtc_put(&jc, tok[i], strlen(tok[i]), &c);
	}
	for (found = 0, i = 0; i <= JWTC_SLOTS; i++)
		found += jwtc_get(&jc, tok[i], strlen(tok[i]), 1000, &out);
	cr_assert_leq(found, JWTC_SLOTS);
	cr_assert(jwtc_get(&jc, tok[JWTC_SLOTS], strlen(tok[JWTC_SLOTS]),
	    1000, &out));
}

Test(jwtcache, empty_and_oversized_tokens_are_not_kept)
{
	struct jwt_claims	c, out;
	static char		big[JWTC_TOK_MAX + 2];

	jwtc_init(&jc, 5);
	claims(&c, "55555555-5555-4555-8555-555555555555", 2000);
	memset(big, 'a', sizeof(big) - 1);
	jwtc_put(&jc, big, sizeof(big) - 1, &c);
	cr_assert_not(jwtc_get(&jc, big, sizeof(big) - 1, 1000, &out));
	jwtc_put(&jc, "", 0, &c);
	cr_assert_not(jwtc_get(&jc, "", 0, 1000, &out));
}
