/*
 * AI_PRICE_TABLE: what parses and what is refused, which entry prices a
 * model, and costs that are exact and add up.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "pricing.h"

static const char *
fmt(pricing_pico v)
{
	static char	buf[PRICING_COST_STRLEN];

	pricing_format(v, buf);
	return (buf);
}

Test(pricing_parse, reads_models_and_prices_per_million)
{
	struct pricing_table	t;
	size_t			at;

	cr_assert_eq(pricing_parse(" gpt-4o-mini=0.15:0.60 , "
	    "gemini-2.0-flash = 0.1 : 0.4,local=0:0,big=1000000:2.000001",
	    &t, &at), PRICING_OK);
	cr_assert_eq(t.n, 4);
	cr_expect_str_eq(t.e[0].model, "gpt-4o-mini");
	cr_expect_eq(t.e[0].input_micro, 150000);
	cr_expect_eq(t.e[0].output_micro, 600000);
	cr_expect_str_eq(t.e[1].model, "gemini-2.0-flash");
	cr_expect_eq(t.e[1].input_micro, 100000);
	cr_expect_eq(t.e[1].output_micro, 400000);
	cr_expect_eq(t.e[2].input_micro, 0);
	cr_expect_eq(t.e[3].input_micro, 1000000000000ULL);
	cr_expect_eq(t.e[3].output_micro, 2000001);
}

Test(pricing_parse, empty_table_and_empty_items_are_fine)
{
	struct pricing_table	t;
	size_t			at;

	cr_assert_eq(pricing_parse("", &t, &at), PRICING_OK);
	cr_expect_eq(t.n, 0);
	cr_assert_eq(pricing_parse(",, ,a=1:2,", &t, &at), PRICING_OK);
	cr_expect_eq(t.n, 1);
}

Test(pricing_parse, refuses_what_is_not_a_price)
{
	struct pricing_table	t;
	size_t			at;

	cr_expect_eq(pricing_parse("a=1:2,b", &t, &at), PRICING_BAD_ENTRY);
	cr_expect_eq(at, 6, "offset of the bad entry: %zu", at);
	cr_expect_eq(pricing_parse("=1:2", &t, &at), PRICING_BAD_ENTRY);
	cr_expect_eq(pricing_parse("a=1", &t, &at), PRICING_BAD_ENTRY);
	cr_expect_eq(pricing_parse("a=1:", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=:1", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=-1:1", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=1e3:1", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=0.1234567:1", &t, &at),
	    PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=1.2.3:1", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=.:1", &t, &at), PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=1000000.000001:1", &t, &at),
	    PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=99999999999999999999:1", &t, &at),
	    PRICING_BAD_PRICE);
	cr_expect_eq(pricing_parse("a=1:1,a=2:2", &t, &at),
	    PRICING_DUPLICATE);
}

Test(pricing_parse, bounds_the_table)
{
	struct pricing_table	t;
	char			buf[8192];
	size_t			at, o;
	int			i;

	o = 0;
	for (i = 0; i <= PRICING_MAX_MODELS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "m%d=1:1,", i);
	cr_expect_eq(pricing_parse(buf, &t, &at), PRICING_TOO_MANY);
	memset(buf, 'x', PRICING_MODEL_MAX);
	(void)snprintf(buf + PRICING_MODEL_MAX, 16, "=1:1");
	cr_expect_eq(pricing_parse(buf, &t, &at), PRICING_BAD_ENTRY);
}

Test(pricing_find, exact_then_dated_variant_then_star)
{
	struct pricing_table	 t;
	size_t			 at;

	cr_assert_eq(pricing_parse("gpt-4o=2.5:10,gpt-4o-mini=0.15:0.6",
	    &t, &at), PRICING_OK);
	cr_expect_str_eq(pricing_find(&t, "gpt-4o")->model, "gpt-4o");
	cr_expect_str_eq(pricing_find(&t, "gpt-4o-mini-2024-07-18")->model,
	    "gpt-4o-mini");
	cr_expect_str_eq(pricing_find(&t, "gpt-4o-2024-08-06")->model,
	    "gpt-4o");
	cr_expect_null(pricing_find(&t, "gpt-4"));
	cr_expect_null(pricing_find(&t, "gpt-4omni"));
	cr_assert_eq(pricing_parse("*=1:1,a=2:2", &t, &at), PRICING_OK);
	cr_expect_str_eq(pricing_find(&t, "other")->model, "*");
	cr_expect_str_eq(pricing_find(&t, "a")->model, "a");
}

Test(pricing_cost, exact_picodollars)
{
	struct pricing_table	 t;
	size_t			 at;
	const struct pricing_entry *e;

	cr_assert_eq(pricing_parse("m=0.15:0.6", &t, &at), PRICING_OK);
	e = pricing_find(&t, "m");
	/* 1000 prompt tokens at $0.15/M = $0.00015; 10 out at 0.6 = 6e-6. */
	cr_expect_str_eq(fmt(pricing_cost(e, 1000, 10)), "0.000156000000");
	cr_expect_str_eq(fmt(pricing_cost(e, 1, 0)), "0.000000150000");
	cr_expect_str_eq(fmt(pricing_cost(e, 1000000, 1000000)),
	    "0.750000000000");
	cr_expect_str_eq(fmt(pricing_cost(NULL, 5, 5)), "0.000000000000");
	cr_expect_str_eq(fmt(0), "0.000000000000");
}

Test(pricing_cost, sums_of_parts_equal_the_whole)
{
	struct pricing_table	 t;
	size_t			 at;
	const struct pricing_entry *e;
	pricing_pico		 parts;
	uint64_t		 p, c, sp, sc;

	cr_assert_eq(pricing_parse("m=0.123457:9.87", &t, &at), PRICING_OK);
	e = pricing_find(&t, "m");
	parts = 0;
	sp = sc = 0;
	for (p = 1, c = 7; p < 5000; p = p * 3 + 1, c = c * 2 + 3) {
		parts += pricing_cost(e, p, c);
		sp += p;
		sc += c;
	}
	cr_expect(parts == pricing_cost(e, sp, sc));
}

Test(pricing_cost, no_overflow_at_the_limits)
{
	struct pricing_table	 t;
	size_t			 at;

	cr_assert_eq(pricing_parse("m=1000000:1000000", &t, &at),
	    PRICING_OK);
	/* $1 a token, 2^63 tokens: 2^63 USD, ~9.2e30 picodollars. */
	cr_expect_str_eq(fmt(pricing_cost(&t.e[0], 1ULL << 62, 1ULL << 62)),
	    "9223372036854775808.000000000000");
}
