/*
 * What a request brings: its body as a bounded JSON object, path
 * segments, query-string values and paging; and the handler's state kept
 * across re-entries.
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

/*
 * A query-string parameter, percent-decoded into a buffer owned by the
 * request's Kore arguments (Kore frees it).  NULL when absent.
 */
const char *
rq_query(struct http_request *req, const char *name)
{
	struct rq	*rq = req->hdlr_extra;
	struct http_arg	*arg;
	char		*qs, *pair, *val, *save, *c, *copy;

	if (req->query_string == NULL)
		return (NULL);
	if (!rq->qs_parsed) {
		rq->qs_parsed = 1;
		copy = kore_strdup(req->query_string);
		qs = copy;
		while ((pair = strtok_r(qs, "&", &save)) != NULL) {
			qs = NULL;
			if ((val = strchr(pair, '=')) != NULL)
				*val++ = '\0';
			else
				val = pair + strlen(pair);
			if (*pair == '\0')
				continue;
			for (c = val; *c != '\0'; c++) {
				if (*c == '+')
					*c = ' ';
			}
			if (http_argument_urldecode(val) != KORE_RESULT_OK)
				continue;
			arg = kore_calloc(1, sizeof(*arg));
			arg->name = kore_strdup(pair);
			arg->s_value = kore_strdup(val);
			TAILQ_INSERT_TAIL(&req->arguments, arg, list);
		}
		kore_free(copy);
	}
	TAILQ_FOREACH(arg, &req->arguments, list) {
		if (!strcmp(arg->name, name))
			return (arg->s_value);
	}
	return (NULL);
}

/* ?limit= (1-100, default 50), ?offset= or ?skip= (>= 0). */
int
rq_paging(struct http_request *req, struct rq *rq, struct verr *v,
    int *limit, int *offset)
{
	const char	*s;
	long long	n;
	char		*ep;

	(void)rq;
	*limit = 50;
	*offset = 0;
	if ((s = rq_query(req, "limit")) != NULL) {
		n = strtoll(s, &ep, 10);
		if (*s == '\0' || *ep != '\0' || n < 1 || n > 100)
			verr_add(v, "limit", "out_of_range",
			    "limit must be an integer from 1 to 100");
		else
			*limit = (int)n;
	}
	if ((s = rq_query(req, "offset")) == NULL)
		s = rq_query(req, "skip");
	if (s != NULL) {
		n = strtoll(s, &ep, 10);
		if (*s == '\0' || *ep != '\0' || n < 0 || n > 1000000000)
			verr_add(v, "offset", "out_of_range",
			    "offset must be a non-negative integer");
		else
			*offset = (int)n;
	}
	return (verr_count(v) == 0);
}

/*
 * rq_paging as the two text parameters a list query takes; on a bad
 * value the 400 has been sent and it returns 0.
 */
int
rq_page_text(struct http_request *req, struct rq *rq, char lim[RQ_NUM],
    char off[RQ_NUM])
{
	struct verr	v;

	verr_init(&v);
	if (!rq_paging_text(req, rq, &v, lim, off)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/* rq_paging, the values written as text for query parameters. */
int
rq_paging_text(struct http_request *req, struct rq *rq, struct verr *v,
    char lim[RQ_NUM], char off[RQ_NUM])
{
	int		limit, offset, ok;

	ok = rq_paging(req, rq, v, &limit, &offset);
	(void)snprintf(lim, RQ_NUM, "%d", limit);
	(void)snprintf(off, RQ_NUM, "%d", offset);
	return (ok);
}
