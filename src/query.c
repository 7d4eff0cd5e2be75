/*
 * Query strings and form fields, as kore.conf declares them: the
 * function validators it names, what each refusal tells the client, and
 * the helpers handlers read parameters with.
 *
 * Kore's own http_populate_get drops an empty value before any validator
 * sees it, cuts a value at a second '=' and stops at 19 parameters; and
 * a value a validator refuses vanishes without a trace.  So the query
 * string is read here, once per request, against the same `params`
 * blocks and validators (kore_validator_check): a bound parameter's value
 * is kept where http_argument_get finds it, or recorded as refused with
 * the field, an issue and a message for the handler's 400.  Form fields
 * arrive through Kore's multipart parser; their function validators
 * record a refusal themselves, knowing their field.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq_ctx.h"
#include "query.h"
#include "documents.h"
#include "lib/qstr.h"
#include "lib/username.h"

#define Q_SEARCH_MAX		200	/* code points of an admin search */
#define Q_DOC_Q_MAX		1000	/* bytes of a document search */
#define Q_MSG_MAX		160

/*
 * What a validator's refusal tells the client.  A check function, when
 * given, says why a value is refused (issue and message, NULL when it is
 * fine); otherwise issue and the message after the field's name.  The
 * message of an enum's regex, ^(a|b)$, is made from the regex.  field,
 * when set, is reported instead of the parameter's name (skip is an
 * alias of offset).
 */
struct q_rule {
	const char	*validator;
	const char	*field;
	const char	*issue;
	const char	*msg;
	const char	*(*check)(const char *, const char *, char *, size_t);
};

static const char	*q_search_check(const char *, const char *, char *,
			    size_t);
static const char	*q_doc_q_check(const char *, const char *, char *,
			    size_t);
static const char	*q_utf8_check(const char *, const char *, char *,
			    size_t);
static const char	*q_username_check(const char *, const char *, char *,
			    size_t);
static const char	*q_doc_field_check(const char *, const char *, char *,
			    size_t);
static const struct q_rule *q_rule(const char *);
static void	 q_parse(struct http_request *, struct rq *);
static struct kore_handler_params *q_binding(struct http_request *,
		    const char *);
static void	 q_refuse(struct http_request *, const char *, const char *,
		    const char *);
static int	 q_enum_msg(const char *, char *, size_t);
static int	 q_form_field(struct http_request *, const char *,
		    const void *);

static const struct q_rule q_rules[] = {
	{ "v_uuid", NULL, "invalid", "must be a UUID", NULL },
	{ "v_limit", NULL, "out_of_range",
	    "must be an integer from 1 to 100", NULL },
	{ "v_offset", "offset", "out_of_range",
	    "must be a non-negative integer", NULL },
	{ "v_days", NULL, "out_of_range", "must be an integer from 1 to 90",
	    NULL },
	{ "v_bool", NULL, "invalid", "must be true or false", NULL },
	{ "v_event", NULL, "invalid", "is an event name such as "
	    "login_success", NULL },
	{ "v_todo_status", NULL, "invalid_choice", NULL, NULL },
	{ "v_todo_sort", NULL, "invalid_choice", NULL, NULL },
	{ "v_todo_order", NULL, "invalid_choice", NULL, NULL },
	{ "v_doc_status", NULL, "invalid_choice", NULL, NULL },
	{ "v_wf_status", NULL, "invalid_choice", NULL, NULL },
	{ "v_search", NULL, NULL, NULL, q_search_check },
	{ "v_doc_q", NULL, NULL, NULL, q_doc_q_check },
	{ "v_utf8", NULL, NULL, NULL, q_utf8_check },
	{ "v_username", NULL, NULL, NULL, q_username_check },
	{ "v_document_category", NULL, NULL, NULL, q_doc_field_check },
	{ "v_jurisdiction", NULL, NULL, NULL, q_doc_field_check },
	{ "v_practice_area", NULL, NULL, NULL, q_doc_field_check },
	{ NULL, NULL, NULL, NULL, NULL }
};

int
q_refused(struct http_request *req, struct verr *v)
{
	struct rq	*rq = req->hdlr_extra;
	json_t		*f;
	size_t		 i;

	if (!rq->qs_parsed)
		q_parse(req, rq);
	json_array_foreach(rq->qerr, i, f)
		(void)json_array_append(v->fields, f);
	return ((int)json_array_size(rq->qerr));
}

const char *
q_get(struct http_request *req, const char *name)
{
	struct rq	*rq = req->hdlr_extra;
	char		*s;

	if (!rq->qs_parsed)
		q_parse(req, rq);
	if (!http_argument_get_string(req, name, &s) || *s == '\0')
		return (NULL);
	return (s);
}

int
q_choice(struct http_request *req, struct verr *v, const char *name,
    const char *const *allowed, int def)
{
	const char	*s;
	int		 i;

	if ((s = q_get(req, name)) == NULL)
		return (def);
	for (i = 0; allowed[i] != NULL; i++) {
		if (!strcmp(allowed[i], s))
			return (i);
	}
	verr_add(v, name, "invalid_choice", "%s is not a choice here", name);
	return (def);
}

int
q_bool(struct http_request *req, const char *name, int def)
{
	const char	*s;

	if ((s = q_get(req, name)) == NULL)
		return (def);
	if (!strcmp(s, "true") || !strcmp(s, "1"))
		return (1);
	if (!strcmp(s, "false") || !strcmp(s, "0"))
		return (0);
	return (def);
}

void
q_paging(struct http_request *req, int *limit, int *offset)
{
	const char	*s;

	*limit = Q_LIMIT_DEFAULT;
	*offset = 0;
	/* Their validators (v_limit, v_offset) have checked the range. */
	if ((s = q_get(req, "limit")) != NULL)
		*limit = (int)strtol(s, NULL, 10);
	if ((s = q_get(req, "offset")) != NULL ||
	    (s = q_get(req, "skip")) != NULL)
		*offset = (int)strtol(s, NULL, 10);
}

void
q_paging_text(struct http_request *req, char lim[RQ_NUM], char off[RQ_NUM])
{
	int	limit, offset;

	q_paging(req, &limit, &offset);
	(void)snprintf(lim, RQ_NUM, "%d", limit);
	(void)snprintf(off, RQ_NUM, "%d", offset);
}

int
q_page_text(struct http_request *req, struct rq *rq, char lim[RQ_NUM],
    char off[RQ_NUM])
{
	if (!q_valid(req, rq))
		return (0);
	q_paging_text(req, lim, off);
	return (1);
}

/*
 * A page of the caller's own rows: sql takes the user id, the limit and
 * the offset, and its one row is the answer's data.
 */
int
q_user_page(struct http_request *req, struct rq *rq, const char *sql,
    const char *message)
{
	const char	*params[3];
	char		 lim[RQ_NUM], off[RQ_NUM];

	if (rq->step == 0) {
		if (!q_page_text(req, rq, lim, off))
			return (KORE_RESULT_OK);
		params[0] = rq->user.id;
		params[1] = lim;
		params[2] = off;
		db_start(req, &rq->q, sql, 3, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, message));
}

int
q_valid(struct http_request *req, struct rq *rq)
{
	struct verr	v;

	verr_init(&v);
	if (q_refused(req, &v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/*
 * Read the query string once: each parameter kore.conf binds for this
 * route and method is kept when its validator accepts it, recorded as
 * refused otherwise.  Values are percent-decoded ('+' is a space); a
 * pair that does not decode is skipped.
 */
static void
q_parse(struct http_request *req, struct rq *rq)
{
	struct kore_handler_params	*p;
	struct http_arg			*arg;
	char				*copy, *cur, *name, *val;

	rq->qs_parsed = 1;
	if (req->query_string == NULL)
		return;
	copy = kore_strdup(req->query_string);
	cur = copy;
	while ((name = qstr_next(&cur, &val)) != NULL) {
		if (!qstr_decode(name) || !qstr_decode(val))
			continue;
		if ((p = q_binding(req, name)) == NULL)
			continue;
		if (!kore_validator_check(req, p->validator, val)) {
			q_refuse(req, p->validator->name, name, val);
			continue;
		}
		arg = kore_calloc(1, sizeof(*arg));
		arg->name = kore_strdup(name);
		arg->s_value = kore_strdup(val);
		TAILQ_INSERT_TAIL(&req->arguments, arg, list);
	}
	kore_free(copy);
}

/* The `params qs:<method>` entry of this route binding name, or NULL. */
static struct kore_handler_params *
q_binding(struct http_request *req, const char *name)
{
	struct kore_handler_params	*p;
	int				 method;

	if (req->hdlr == NULL)
		return (NULL);
	/* A HEAD is a GET without the body: the GET block applies. */
	method = req->method == HTTP_METHOD_HEAD ? HTTP_METHOD_GET :
	    req->method;
	TAILQ_FOREACH(p, &req->hdlr->params, list) {
		if ((p->flags & KORE_PARAMS_QUERY_STRING) &&
		    p->method == method && !strcmp(p->name, name))
			return (p);
	}
	return (NULL);
}

/* Record that validator refused value for field, for q_refused. */
static void
q_refuse(struct http_request *req, const char *validator, const char *field,
    const char *value)
{
	struct rq		*rq = req->hdlr_extra;
	const struct q_rule	*r;
	struct kore_validator	*kv;
	const char		*issue, *why;
	char			 msg[Q_MSG_MAX * 2], list[Q_MSG_MAX];

	issue = NULL;
	why = "is not valid";
	r = q_rule(validator);
	if (r != NULL && r->field != NULL)
		field = r->field;
	if (r != NULL && r->check != NULL) {
		issue = r->check(field, value, msg, sizeof(msg));
	} else if (r != NULL) {
		issue = r->issue;
		if (r->msg != NULL)
			why = r->msg;
		else if ((kv = kore_validator_lookup(validator)) != NULL &&
		    kv->type == KORE_VALIDATOR_TYPE_REGEX &&
		    q_enum_msg(kv->arg, list, sizeof(list)))
			why = list;
	}
	/* No rule, or a check that disagrees with its validator. */
	if (issue == NULL || r == NULL || r->check == NULL) {
		(void)snprintf(msg, sizeof(msg), "%s %s", field, why);
		if (issue == NULL)
			issue = "invalid";
	}
	if (rq->qerr == NULL)
		rq->qerr = json_array();
	(void)json_array_append_new(rq->qerr, json_pack("{s:s, s:s, s:s}",
	    "field", field, "issue", issue, "message", msg));
}

static const struct q_rule *
q_rule(const char *validator)
{
	const struct q_rule	*r;

	for (r = q_rules; r->validator != NULL; r++) {
		if (!strcmp(r->validator, validator))
			return (r);
	}
	return (NULL);
}

/* "^(a|b|c)$" (or "...)?$") → "must be one of: a, b, c"; 0 if not so. */
static int
q_enum_msg(const char *re, char *out, size_t len)
{
	size_t	o, n;

	if (strncmp(re, "^(", 2) != 0 || (n = strcspn(re + 2, ")")) == 0)
		return (0);
	o = (size_t)snprintf(out, len, "must be one of: ");
	for (re += 2; n > 0 && o + 3 < len; re++, n--) {
		if (*re == '|') {
			out[o++] = ',';
			out[o++] = ' ';
		} else {
			out[o++] = *re;
		}
	}
	out[o] = '\0';
	return (1);
}

/* Admin user search: valid UTF-8, at most Q_SEARCH_MAX code points. */
static const char *
q_search_check(const char *field, const char *s, char *msg, size_t len)
{
	if (qstr_text(field, s, Q_SEARCH_MAX, 0, msg, len) == NULL)
		return (NULL);
	(void)snprintf(msg, len, "%s is valid UTF-8 of at most %d characters",
	    field, Q_SEARCH_MAX);
	return ("invalid");
}

/* Document full-text search: at most Q_DOC_Q_MAX bytes of UTF-8. */
static const char *
q_doc_q_check(const char *field, const char *s, char *msg, size_t len)
{
	return (qstr_text(field, s, 0, Q_DOC_Q_MAX, msg, len));
}

static const char *
q_utf8_check(const char *field, const char *s, char *msg, size_t len)
{
	return (qstr_text(field, s, 0, 0, msg, len));
}

static const char *
q_username_check(const char *field, const char *s, char *msg, size_t len)
{
	const char	*issue, *why;

	(void)field;
	if ((issue = username_check(s, &why)) != NULL)
		(void)snprintf(msg, len, "%s", why);
	return (issue);
}

/* An upload's text field: once trimmed, at most DOC_FIELD_MAX of UTF-8. */
static const char *
q_doc_field_check(const char *field, const char *s, char *msg, size_t len)
{
	return (qstr_field(field, s, DOC_FIELD_MAX, msg, len));
}

/*
 * A function validator: its rule's check says whether data is fine (it
 * does not know the field; q_refuse asks the check again for the 400).
 */
#define Q_VALIDATOR(fn)							\
	int								\
	fn(struct http_request *req, const void *data)			\
	{								\
		char	msg[Q_MSG_MAX];					\
									\
		(void)req;						\
		return (q_rule(#fn)->check(#fn, data, msg,		\
		    sizeof(msg)) == NULL ? KORE_RESULT_OK :		\
		    KORE_RESULT_ERROR);					\
	}

Q_VALIDATOR(v_search)
Q_VALIDATOR(v_doc_q)
Q_VALIDATOR(v_utf8)
Q_VALIDATOR(v_username)

/*
 * An upload's form fields reach Kore's multipart parser, which drops a
 * refused value silently: these validators know their field and record
 * the refusal themselves.
 */
static int
q_form_field(struct http_request *req, const char *field, const void *data)
{
	char		 name[32], msg[Q_MSG_MAX];

	(void)snprintf(name, sizeof(name), "v_%s", field);
	if (q_rule(name)->check(field, data, msg, sizeof(msg)) == NULL)
		return (KORE_RESULT_OK);
	q_refuse(req, name, field, data);
	return (KORE_RESULT_ERROR);
}

int
v_document_category(struct http_request *req, const void *data)
{
	return (q_form_field(req, "document_category", data));
}

int
v_jurisdiction(struct http_request *req, const void *data)
{
	return (q_form_field(req, "jurisdiction", data));
}

int
v_practice_area(struct http_request *req, const void *data)
{
	return (q_form_field(req, "practice_area", data));
}
