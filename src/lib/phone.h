/*
 * Phone numbers in E.164 form ("+33612345678").
 */
#ifndef ELENCHUS_PHONE_H
#define ELENCHUS_PHONE_H

#include <stddef.h>

/* E.164: '+' then 8 to 15 digits (ITU-T E.164 caps numbers at 15). */
#define PHONE_DIGITS_MIN	8
#define PHONE_DIGITS_MAX	15
#define PHONE_MAX_LEN		(1 + PHONE_DIGITS_MAX)
#define PHONE_SIZE		(PHONE_MAX_LEN + 1)
/* Digits left in clear at each end of a masked number. */
#define PHONE_MASK_KEEP		2

int	phone_e164_valid(const char *);
int	phone_mask(const char *, char *, size_t);

#endif
