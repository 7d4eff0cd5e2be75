/*
 * Verification codes, the pieces phone (src/phone_verify.c) and email
 * (src/email_verify.c) verification share: the rules, the code and its
 * keyed hash, and the answers to a send refused by the limits and to a
 * wrong or dead code.  Each channel keeps its codes in a table of its
 * own, issued and checked by SQL functions that take these rules.
 */
#ifndef ELENCHUS_VCODE_H
#define ELENCHUS_VCODE_H

#include "rq.h"
#include "audit.h"
#include "lib/authtok.h"

#define VCODE_TTL_S		600	/* a code lives 10 minutes */
#define VCODE_SEND_MAX		3	/* codes per target per window */
#define VCODE_SEND_WINDOW_S	600
#define VCODE_SEND_GAP_S	60	/* between two codes to one target */
#define VCODE_TRIES_MAX		5	/* wrong codes before it burns */

/* The rules as text, for the parameters of the SQL functions. */
struct vcode_rules {
	char		ttl[16];
	char		max[16];
	char		window[16];
	char		gap[16];
	char		tries[16];
};

/*
 * The audit of a send, event and detail key as SQL literals: $1 user,
 * $2 ip, $3 user agent, $4 the target as logged (the address, the masked
 * phone), $5 provider.  A failed send also burns code $6 of table: a
 * code the provider did not take must not be verifiable.
 */
#define VCODE_SQL_SENT(event, key)					\
    AUDIT_INSERT("$1::uuid", event, "$2", "$3",				\
    "jsonb_build_object(" key ", $4::text, 'provider', $5::text)")
#define VCODE_SQL_FAILED(table, event, key)				\
    "WITH c AS (UPDATE " table " SET consumed_at = now() "		\
    "WHERE id = $6 AND consumed_at IS NULL RETURNING id) "		\
    VCODE_SQL_SENT(event, key)

void	vcode_rules(struct vcode_rules *);
/*
 * Start the audit of a send on rq->q: sql is a VCODE_SQL_SENT (code_id
 * NULL) or a VCODE_SQL_FAILED statement.
 */
void	vcode_record(struct http_request *, struct rq *, const char *,
	    const char *, const char *, const char *);
/* 1 once the audit is done (a failure is only logged); 0: wait. */
int	vcode_recorded(struct http_request *, struct rq *, const char *);

/*
 * A channel's steps of POST …/request, on its own request state: issue
 * (read, start the issue statement) and send (the issued row is in
 * rq->q: start the sender) return 0 once they have answered; sent
 * returns 0 while the sender works, else starts the audit with
 * vcode_record; answer answers.
 */
struct vcode_channel {
	const char	*name;		/* for the log */
	int		(*issue)(struct http_request *, struct rq *, void *);
	int		(*send)(struct http_request *, struct rq *, void *);
	int		(*sent)(struct http_request *, struct rq *, void *);
	int		(*answer)(struct http_request *, struct rq *, void *);
};

/* Issue a code, send it, audit the send, answer: the steps of ch. */
int	vcode_request(struct http_request *, struct rq *,
	    const struct vcode_channel *, void *);
/*
 * A fresh code and its hash bound to subject (the phone number, or the
 * user id for email), keyed with the signing key.  0 on failure.
 */
int	vcode_new(const char *, char [AUTHTOK_CODE_SIZE],
	    char [AUTHTOK_HASH_SIZE]);
/* The hash of a code the client sent, as vcode_new; 0 on failure. */
int	vcode_hash(const char *, const char *, char [AUTHTOK_HASH_SIZE]);
/*
 * 429 rate_limited with Retry-After (seconds, as text): too many codes to
 * this target ("phone", "email address").
 */
int	vcode_too_many(struct http_request *, struct rq *, const char *,
	    const char *);
/*
 * 400 validation_error for a code the check refused: result "invalid"
 * (tries_left more) or anything else (no live code).
 */
int	vcode_refused(struct http_request *, struct rq *, const char *,
	    const char *, const char *);

#endif
