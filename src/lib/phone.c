/*
 * Phone numbers.  We take E.164 only and do no normalisation: the client
 * sends "+<country code><number>", and the same string is what we store,
 * hash codes against and send to the SMS provider.  Logs get a masked
 * form, since a phone number is personal data.
 */

#include <stddef.h>
#include <string.h>

#include "phone.h"

/* What phone_mask writes for a non-number; shorter than PHONE_SIZE. */
#define PHONE_INVALID		"<invalid>"

/*
 * Returns 1 when s is '+' followed by PHONE_DIGITS_MIN to PHONE_DIGITS_MAX
 * ASCII digits, the first not 0 (no country code starts with 0), and
 * nothing else.
 */
int
phone_e164_valid(const char *s)
{
	size_t		i;

	if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return (0);

	for (i = 1; s[i] != '\0'; i++) {
		if (i > PHONE_DIGITS_MAX || s[i] < '0' || s[i] > '9')
			return (0);
	}

	return (i - 1 >= PHONE_DIGITS_MIN);
}

/*
 * Writes a masked copy of phone for logs into out (outlen >= PHONE_SIZE):
 * '+', the first and last PHONE_MASK_KEEP digits, '*' for the others
 * ("+33612345678" gives "+33*******78").  Anything that is not a valid
 * E.164 number is written as "<invalid>", so nothing of it reaches a log.
 * Returns 0, or -1 when out is too small (out is then an empty string if
 * outlen > 0).  The caller owns out.
 */
int
phone_mask(const char *phone, char *out, size_t outlen)
{
	size_t		i, n;

	if (outlen > 0)
		out[0] = '\0';
	if (outlen < PHONE_SIZE)
		return (-1);

	if (!phone_e164_valid(phone)) {
		memcpy(out, PHONE_INVALID, sizeof(PHONE_INVALID));
		return (0);
	}

	n = strlen(phone);
	out[0] = '+';
	for (i = 1; i < n; i++) {
		if (i <= PHONE_MASK_KEEP || i >= n - PHONE_MASK_KEEP)
			out[i] = phone[i];
		else
			out[i] = '*';
	}
	out[n] = '\0';

	return (0);
}
