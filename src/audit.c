/*
 * Audit rows: the user agent made safe for a text column, and a
 * stand-alone INSERT for events no statement of their own can carry.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "lib/utf8.h"

static const char sql_audit_insert[] =
    AUDIT_INSERT("$1::uuid", "$2", "$3", "$4", "$5::jsonb");

/*
 * Copies the User-Agent header into buf (len bytes, at least 2): at most
 * len - 1 bytes, cut on a character boundary, every ill-formed byte and
 * control character replaced by '?'.  Returns buf, or NULL when the
 * request has no User-Agent.
 */
const char *
audit_ua(struct http_request *req, char *buf, size_t len)
{
	const char	*h;
	size_t		 hl, i, o, n;
	unsigned int	 cp;

	if (len < 2 || (h = rq_header(req, "user-agent")) == NULL)
		return (NULL);
	hl = strlen(h);
	for (i = 0, o = 0; i < hl; i += n) {
		n = utf8_decode(h + i, hl - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f) {
			if (n == 0)
				n = 1;
			if (o + 1 >= len)
				break;
			buf[o++] = '?';
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(buf + o, h + i, n);
		o += n;
	}
	buf[o] = '\0';
	return (buf);
}

void
audit_start(struct http_request *req, struct rq *rq, struct dbq *q,
    const char *user_id, const char *event, json_t *details)
{
	const char	*params[5];
	char		 ua[AUDIT_UA_SIZE], *det;

	det = details ? json_dumps(details, JSON_COMPACT) : NULL;
	params[0] = user_id;
	params[1] = event;
	params[2] = rq->ip[0] ? rq->ip : NULL;
	params[3] = audit_ua(req, ua, sizeof(ua));
	params[4] = det ? det : "{}";
	db_start(req, q, sql_audit_insert, 5, params);
	free(det);
}
