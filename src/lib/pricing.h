/*
 * Model prices for analytics (AI_PRICE_TABLE) and the cost arithmetic.
 * Costs are exact integers in picodollars (1e-12 USD): a price per
 * million tokens with at most six decimals is an integer number of
 * micro-dollars, and tokens times that is the cost in picodollars, so
 * sums of costs (per day, per model) add up to the total to the last
 * digit.  Pure code: no Kore, no database.
 */
#ifndef ELENCHUS_PRICING_H
#define ELENCHUS_PRICING_H

#include <stddef.h>
#include <stdint.h>

#define PRICING_MAX_MODELS	64
#define PRICING_MODEL_MAX	128
/* Highest price accepted: 1,000,000 USD per million tokens. */
#define PRICING_MAX_MICRO	(1000000ULL * 1000000ULL)
/* Longest decimal a cost is written as: 39 digits, point, sign, NUL. */
#define PRICING_COST_STRLEN	48

enum pricing_err {
	PRICING_OK = 0,
	PRICING_BAD_ENTRY,	/* not model=input:output */
	PRICING_BAD_PRICE,	/* not a decimal of <= 6 places in range */
	PRICING_TOO_MANY,
	PRICING_DUPLICATE,
};

struct pricing_entry {
	char		model[PRICING_MODEL_MAX];
	uint64_t	input_micro;	/* USD * 1e6 per million tokens */
	uint64_t	output_micro;
};

struct pricing_table {
	struct pricing_entry	e[PRICING_MAX_MODELS];
	int			n;
};

typedef unsigned __int128	pricing_pico;

/*
 * Parse "model=input:output,..." (prices in USD per million tokens,
 * blanks around items ignored; "*" names the price of any model not
 * listed).  On error *at is the offset of the bad entry.
 */
enum pricing_err pricing_parse(const char *, struct pricing_table *,
		    size_t *at);
const char	*pricing_err_str(enum pricing_err);

/*
 * The entry for a model: an exact name, else the longest listed name
 * the model starts with followed by '-' (gpt-4o-mini prices
 * gpt-4o-mini-2024-07-18), else "*", else NULL (unpriced).
 */
const struct pricing_entry *pricing_find(const struct pricing_table *,
		    const char *model);

/* Cost of tokens at an entry (0 when e is NULL), in picodollars. */
pricing_pico	pricing_cost(const struct pricing_entry *e,
		    uint64_t prompt_tokens, uint64_t completion_tokens);

/* A cost as a decimal number of USD with 12 places: "0.000150000000". */
void		pricing_format(pricing_pico, char out[PRICING_COST_STRLEN]);

#endif
