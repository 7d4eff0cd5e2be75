/*
 * AI_PRICE_TABLE parsing and exact cost arithmetic (see pricing.h).
 */
#include <stdio.h>
#include <string.h>

#include "pricing.h"

#define PRICING_PLACES		6
#define PRICING_PICO_DIGITS	12

static int	pricing_decimal(const char *, size_t, uint64_t *);
static size_t	pricing_trim(const char **, size_t);

enum pricing_err
pricing_parse(const char *s, struct pricing_table *t, size_t *at)
{
	const char		*base, *item, *eq, *colon;
	struct pricing_entry	*e;
	size_t			 len, mlen;
	int			 i;

	memset(t, 0, sizeof(*t));
	base = s;
	*at = 0;
	while (*s != '\0') {
		len = strcspn(s, ",");
		item = s;
		*at = (size_t)(item - base);
		s += len;
		if (*s == ',')
			s++;
		len = pricing_trim(&item, len);
		if (len == 0)
			continue;
		if ((eq = memchr(item, '=', len)) == NULL ||
		    (colon = memchr(eq, ':', len - (size_t)(eq - item))) ==
		    NULL)
			return (PRICING_BAD_ENTRY);
		mlen = (size_t)(eq - item);
		while (mlen > 0 && (item[mlen - 1] == ' ' ||
		    item[mlen - 1] == '\t'))
			mlen--;
		if (mlen == 0 || mlen >= PRICING_MODEL_MAX)
			return (PRICING_BAD_ENTRY);
		if (t->n == PRICING_MAX_MODELS)
			return (PRICING_TOO_MANY);
		e = &t->e[t->n];
		memcpy(e->model, item, mlen);
		e->model[mlen] = '\0';
		for (i = 0; i < t->n; i++) {
			if (!strcmp(t->e[i].model, e->model))
				return (PRICING_DUPLICATE);
		}
		if (!pricing_decimal(eq + 1, (size_t)(colon - eq - 1),
		    &e->input_micro) || !pricing_decimal(colon + 1,
		    len - (size_t)(colon + 1 - item), &e->output_micro))
			return (PRICING_BAD_PRICE);
		t->n++;
	}
	return (PRICING_OK);
}

const char *
pricing_err_str(enum pricing_err err)
{
	switch (err) {
	case PRICING_OK:
		return ("ok");
	case PRICING_BAD_ENTRY:
		return ("an entry is not model=input:output");
	case PRICING_BAD_PRICE:
		return ("a price is not a decimal USD amount per million "
		    "tokens with at most 6 places");
	case PRICING_TOO_MANY:
		return ("too many models");
	case PRICING_DUPLICATE:
		return ("a model is listed twice");
	}
	return ("unknown error");
}

const struct pricing_entry *
pricing_find(const struct pricing_table *t, const char *model)
{
	const struct pricing_entry	*best, *star;
	size_t				 l, bl;
	int				 i;

	best = star = NULL;
	bl = 0;
	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->e[i].model, model))
			return (&t->e[i]);
		if (!strcmp(t->e[i].model, "*")) {
			star = &t->e[i];
			continue;
		}
		l = strlen(t->e[i].model);
		if (l > bl && !strncmp(t->e[i].model, model, l) &&
		    model[l] == '-') {
			best = &t->e[i];
			bl = l;
		}
	}
	return (best != NULL ? best : star);
}

pricing_pico
pricing_cost(const struct pricing_entry *e, uint64_t ptok, uint64_t ctok)
{
	if (e == NULL)
		return (0);
	return ((pricing_pico)ptok * e->input_micro +
	    (pricing_pico)ctok * e->output_micro);
}

void
pricing_format(pricing_pico v, char out[PRICING_COST_STRLEN])
{
	char		digits[PRICING_COST_STRLEN];
	size_t		n, i, o;

	n = 0;
	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	while (n <= PRICING_PICO_DIGITS)
		digits[n++] = '0';

	o = 0;
	for (i = n; i > 0; i--) {
		out[o++] = digits[i - 1];
		if (i - 1 == PRICING_PICO_DIGITS)
			out[o++] = '.';
	}
	out[o] = '\0';
}

/* A non-negative decimal with at most six places, times 1e6. */
static int
pricing_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v;
	size_t		i;
	int		places, point, digits;

	len = pricing_trim(&s, len);
	v = 0;
	places = point = digits = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !point) {
			point = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return (0);
		if (point && ++places > PRICING_PLACES)
			return (0);
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > PRICING_MAX_MICRO)
			return (0);
		digits++;
	}
	if (digits == 0)
		return (0);
	for (; places < PRICING_PLACES; places++)
		v *= 10;
	if (v > PRICING_MAX_MICRO)
		return (0);
	*out = v;
	return (1);
}

/* Strip blanks around s[0..len); returns the new length. */
static size_t
pricing_trim(const char **s, size_t len)
{
	while (len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		len--;
	}
	while (len > 0 && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t'))
		len--;
	return (len);
}
