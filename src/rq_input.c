/*
 * What a request brings: its body as a bounded JSON object, path
 * segments, and the handler's state kept across re-entries (query
 * parameters: query.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq_ctx.h"
#include "lib/uuid.h"

void *
rq_state(struct rq *rq, size_t len, void (*onfree)(void *))
{
	if (rq->st == NULL) {
		rq->st = kore_calloc(1, len);
		rq->st_free = onfree;
	}
	return (rq->st);
}

const char *
rq_header(struct http_request *req, const char *name)
{
	const char	*v;

	if (!http_request_header(req, name, &v))
		return (NULL);
	return (v);
}

/*
 * The body, up to max bytes, NUL-terminated in a buffer the caller
 * frees with kore_free (explicit_bzero first if it may hold a secret);
 * *len is what was read.  Larger: the 413 has been sent and it returns
 * NULL.
 */
char *
rq_body(struct http_request *req, struct rq *rq, size_t max, size_t *len)
{
	char		*buf;
	ssize_t		 r;
	size_t		 n, off;

	n = req->http_body_length;
	if (n > max) {
		(void)rq_error(req, rq, 413, "payload_too_large",
		    "Request body is too large", NULL);
		return (NULL);
	}
	buf = kore_malloc(n + 1);
	for (off = 0; off < n; off += (size_t)r) {
		if ((r = http_body_read(req, buf + off, n - off)) <= 0)
			break;
	}
	buf[off] = '\0';
	*len = off;
	return (buf);
}

/*
 * The body as a JSON object.  On failure the 4xx has been sent and the
 * handler returns KORE_RESULT_OK.  The object belongs to rq.
 */
int
rq_json(struct http_request *req, struct rq *rq, json_t **out)
{
	char		*buf;
	size_t		off;
	int		err;

	*out = NULL;
	if (rq->body != NULL) {
		*out = rq->body;
		return (KORE_RESULT_OK);
	}
	if ((buf = rq_body(req, rq, cfg.json_body_max, &off)) == NULL)
		return (KORE_RESULT_ERROR);
	err = jsonx_parse_object(buf, off, &rq->body);
	explicit_bzero(buf, off);	/* it may hold a password */
	kore_free(buf);
	if (err != JSONX_OK) {
		(void)rq_error(req, rq, 400, err == JSONX_INVALID ||
		    err == JSONX_EMPTY ? "invalid_json" : "validation_error",
		    jsonx_err_message(err), NULL);
		return (KORE_RESULT_ERROR);
	}
	*out = rq->body;
	return (KORE_RESULT_OK);
}

/* The n-th '/'-separated segment of the path (0 is "api"), checked. */
int
rq_path_id(struct http_request *req, int n, char *out, size_t len)
{
	const char	*p, *e;
	size_t		l;
	int		i;

	p = req->path;
	for (i = 0; i <= n; i++) {
		if (*p != '/')
			return (0);
		p++;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (i == n) {
			l = (size_t)(e - p);
			if (l == 0 || l >= len)
				return (0);
			memcpy(out, p, l);
			out[l] = '\0';
			for (i = 0; out[i] != '\0'; i++) {
				if (!isalnum((unsigned char)out[i]) &&
				    out[i] != '-' && out[i] != '_')
					return (0);
			}
			return (1);
		}
		p = e;
	}
	return (0);
}

/*
 * Start sql on rq->q with $1 the UUID at path segment n and $2 the
 * caller's id: the statement of a resource the caller owns.  0 when the
 * segment is not a UUID: 404 has been answered.
 */
int
rq_owned(struct http_request *req, struct rq *rq, int n, const char *sql)
{
	const char	*params[2];
	char		 id[UUID_STRLEN + 1];

	if (!rq_path_id(req, n, id, sizeof(id)) || !uuid_valid(id)) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	params[0] = id;
	params[1] = rq->user.id;
	db_start(req, &rq->q, sql, 2, params);
	return (1);
}
