/*
 * Username syntax (username.h).  ASCII only, so that two names that look
 * alike are equal or differ visibly, and every name is safe in a URL, a
 * log line and an email header.
 */
#include <string.h>
#include <strings.h>

#include "username.h"

static int	username_alpha(char);
static int	username_digit(char);
static int	username_punct(char);

/* Names that would pass for the service or its staff. */
static const char *const username_reserved[] = {
	"admin", "administrator", "root", "system", "support", "security",
	"elenchus", "staff", "moderator", "help", "info", "api", "null",
	"undefined", "anonymous", "me", NULL
};

const char *
username_check(const char *s, const char **msg)
{
	size_t		len, i;

	*msg = NULL;
	if (s == NULL) {
		*msg = "username must be a string";
		return ("invalid");
	}
	len = strnlen(s, USERNAME_MAX + 1);
	if (len < USERNAME_MIN) {
		*msg = "username must be at least 3 characters";
		return ("too_short");
	}
	if (len > USERNAME_MAX) {
		*msg = "username must be at most 30 characters";
		return ("too_long");
	}
	*msg = "username must be letters, digits, '_', '.' or '-', start "
	    "with a letter, end with a letter or a digit, and have no two "
	    "'_', '.' or '-' in a row";
	if (!username_alpha(s[0]) || username_punct(s[len - 1]))
		return ("invalid");
	for (i = 0; i < len; i++) {
		if (username_alpha(s[i]) || username_digit(s[i]))
			continue;
		if (!username_punct(s[i]) || username_punct(s[i + 1]))
			return ("invalid");
	}
	for (i = 0; username_reserved[i] != NULL; i++) {
		if (!strcasecmp(s, username_reserved[i])) {
			*msg = "this username is reserved";
			return ("reserved");
		}
	}
	*msg = NULL;
	return (NULL);
}

static int
username_alpha(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static int
username_digit(char c)
{
	return (c >= '0' && c <= '9');
}

static int
username_punct(char c)
{
	return (c == '_' || c == '.' || c == '-');
}
