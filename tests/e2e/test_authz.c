/*
 * The authorization matrix.  Every operation of build/openapi.json that
 * needs a bearer token is called as:
 *
 *   - no token, three malformed tokens, an expired token: 401;
 *   - a normal user on an operation tagged "admin": 403;
 *   - another user, on a path filled with the first user's real resources
 *     (user, todo, conversation, document, session): 403 or 404, whichever
 *     of them the operation declares;
 *   - the owner, when a path parameter is one this fixture does not know
 *     (a route added later): a random UUID, which must give 404;
 *   - the owner with every path parameter a random UUID: 404 (or the
 *     403 an operation declares for another user's id).
 *
 * Never 2xx, never 5xx.  New routes are picked up from the document, so
 * the matrix grows with the API; the number of operations covered is
 * printed ("e2e-report:" lines are echoed by scripts/test.sh).
 */
#define _GNU_SOURCE

#include "fixture.h"

#define DOC		"build/openapi.json"
/* {"alg":"none","typ":"JWT"} */
#define NONE_HEADER	"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"

/* What user a owns, and tokens that must be refused. */
struct owned {
	struct user	 a, b;
	char		 todo[64];
	char		 conv[64];
	char		 doc[64];
	char		 sess[64];	/* a second session of a */
	char		*expired;
	char		*bad[3];
};

struct tally {
	int	 ops;
	int	 owned;		/* ran the other-user column */
	int	 admin;
	int	 unknown;	/* had a parameter we filled with a UUID */
	int	 calls;
};

static struct owned	own;

static const char *
id_of(struct resp *r, const char *what)
{
	const char	*id;

	id = jstr(r, "data.id");
	cr_assert(id != NULL && r->status / 100 == 2, "%s: %ld %s", what,
	    r->status, r->body);
	return (id);
}

static void
owned_make(void)
{
	struct jwt_claims	 c;
	struct resp		*r;
	char			 path[256];
	const char		*p;

	fx_new(&own.a, "authz-a-");
	fx_new(&own.b, "authz-b-");

	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", own.a.id);
	r = fx_req(NULL, "POST", path, own.a.token, NULL,
	    "{\"title\":\"matrix todo\"}");
	(void)snprintf(own.todo, sizeof(own.todo), "%s", id_of(r, "todo"));
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/chat/conversations", own.a.token,
	    NULL, "{\"title\":\"matrix conversation\"}");
	(void)snprintf(own.conv, sizeof(own.conv), "%s", id_of(r, "conv"));
	resp_free(r);

	fx_doc_new(NULL, &own.a, "matrix.txt", "Clause 1. The matrix holds.",
	    own.doc, sizeof(own.doc));

	/* A second session of a, for the session routes. */
	r = fx_login(NULL, NULL, own.a.email, FX_PASSWORD);
	cr_assert_eq(r->status, 200, "login: %ld %s", r->status, r->body);
	fx_claims(jstr(r, "data.access_token"), &c);
	(void)snprintf(own.sess, sizeof(own.sess), "%s", c.sid);
	resp_free(r);

	fx_claims(own.a.token, &c);
	own.expired = fx_forge(c.sub, c.sid, "user", (long)time(NULL) - 7200,
	    (long)time(NULL) - 60, NULL);
	/* Garbage, a real token with its signature cut, and alg "none". */
	own.bad[0] = strdup("not-a-token");
	own.bad[1] = strdup(own.a.token);
	own.bad[1][strlen(own.bad[1]) - 4] = '\0';
	p = strchr(own.a.token, '.') + 1;
	if (asprintf(&own.bad[2], "%s.%.*s.", NONE_HEADER,
	    (int)(strrchr(own.a.token, '.') - p), p) == -1)
		cr_assert_fail("asprintf");
}

/* The fixture's value for a path parameter, NULL when it has none. */
static const char *
param(const char *name, size_t len)
{
	const struct {
		const char	*name;
		const char	*val;
	} known[] = {
		{ "user_id", own.a.id },
		{ "todo_id", own.todo },
		{ "conversation_id", own.conv },
		{ "document_id", own.doc },
		{ "session_id", own.sess },
	};
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len &&
		    !strncmp(known[i].name, name, len))
			return (known[i].val);
	return (NULL);
}

/* The path with its {parameters} filled; *unknown counts the UUIDs. */
static void
fill(const char *tmpl, char *out, size_t outlen, int random, int *nparams,
    int *unknown)
{
	const char	*s, *e, *v;
	char		 uuid[UUID_STRLEN + 1];
	size_t		 o = 0;

	*nparams = *unknown = 0;
	for (s = tmpl; *s != '\0' && o + 1 < outlen; s++) {
		if (*s != '{' || (e = strchr(s, '}')) == NULL) {
			out[o++] = *s;
			continue;
		}
		(*nparams)++;
		if (random || (v = param(s + 1, (size_t)(e - s - 1))) == NULL) {
			cr_assert_eq(uuid_generate(uuid), 0);
			v = uuid;
			(*unknown)++;
		}
		o += (size_t)snprintf(out + o, outlen - o, "%s", v);
		s = e;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

static json_t *
deref(json_t *doc, json_t *sch)
{
	const char	*ref;
	char		 path[256], *p;

	while ((ref = json_string_value(json_object_get(sch, "$ref"))) !=
	    NULL && !strncmp(ref, "#/", 2)) {
		(void)snprintf(path, sizeof(path), "%s", ref + 2);
		for (p = path; *p != '\0'; p++)
			if (*p == '/')
				*p = '.';
		sch = jpath(doc, path);
	}
	return (sch);
}

/*
 * A value the schema accepts, so that a request gets past validation to
 * the ownership check: the example, the first enum value, the fixture's
 * id for a property named like a path parameter, or a plain value of
 * the type; objects get their required properties.
 */
static json_t *
sample(json_t *doc, json_t *sch, const char *name, int depth)
{
	json_t		*t, *o, *req, *props, *v;
	const char	*type = NULL, *k;
	char		 uuid[UUID_STRLEN + 1];
	size_t		 i;

	sch = deref(doc, sch);
	if (sch == NULL || depth > 8)
		return (json_null());
	if ((v = json_object_get(sch, "example")) != NULL)
		return (json_deep_copy(v));
	if ((v = json_array_get(json_object_get(sch, "enum"), 0)) != NULL)
		return (json_deep_copy(v));
	t = json_object_get(sch, "type");
	type = json_is_array(t) ? json_string_value(json_array_get(t, 0)) :
	    json_string_value(t);
	if (type == NULL && json_object_get(sch, "properties") != NULL)
		type = "object";
	if (type == NULL)
		return (json_null());
	if (!strcmp(type, "object")) {
		o = json_object();
		req = json_object_get(sch, "required");
		props = json_object_get(sch, "properties");
		json_array_foreach(req, i, v) {
			k = json_string_value(v);
			if (k != NULL)
				json_object_set_new(o, k, sample(doc,
				    json_object_get(props, k), k, depth + 1));
		}
		return (o);
	}
	if (!strcmp(type, "string")) {
		if (name != NULL && param(name, strlen(name)) != NULL)
			return (json_string(param(name, strlen(name))));
		k = json_string_value(json_object_get(sch, "format"));
		if (k != NULL && !strcmp(k, "uuid")) {
			cr_assert_eq(uuid_generate(uuid), 0);
			return (json_string(uuid));
		}
		if (k != NULL && !strcmp(k, "email"))
			return (json_string("matrix@example.test"));
		return (json_string("matrix"));
	}
	if (!strcmp(type, "integer") || !strcmp(type, "number")) {
		v = json_object_get(sch, "minimum");
		return (json_integer(json_is_number(v) ?
		    (json_int_t)json_number_value(v) : 1));
	}
	if (!strcmp(type, "boolean"))
		return (json_false());
	if (!strcmp(type, "array"))
		return (json_array());
	return (json_null());
}

/* The JSON body of an operation (NULL when it takes none). */
static char *
body_for(json_t *doc, json_t *op)
{
	json_t	*rb, *sch, *v;
	char	*s;

	if ((rb = deref(doc, json_object_get(op, "requestBody"))) == NULL)
		return (NULL);
	sch = jpath(rb, "content.application/json.schema");
	if (sch == NULL)
		return (strdup("{}"));	/* multipart and the like */
	v = sample(doc, sch, NULL, 0);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return (s);
}

static int
declares(json_t *op, long status)
{
	char	 k[8];

	(void)snprintf(k, sizeof(k), "%ld", status);
	return (json_object_get(json_object_get(op, "responses"), k) != NULL);
}

static int
tagged(json_t *op, const char *tag)
{
	json_t	*t;
	size_t	 i;

	json_array_foreach(json_object_get(op, "tags"), i, t)
		if (json_is_string(t) && !strcmp(json_string_value(t), tag))
			return (1);
	return (0);
}

/* One call; checks it is one of the wanted statuses and not 2xx/5xx. */
static void
expect(struct tally *t, const char *method, const char *tmpl,
    const char *path, const char *token, const char *body, const char *who,
    long want1, long want2)
{
	struct resp	*r;

	r = fx_req(NULL, method, path, token, NULL, body);
	t->calls++;
	cr_expect(r->status / 100 != 2 && r->status / 100 != 5,
	    "%s %s (%s) as %s: %ld %s", method, tmpl, path, who, r->status,
	    r->body);
	cr_expect(r->status == want1 || r->status == want2,
	    "%s %s (%s) as %s: %ld, want %ld%s%.0ld: %s", method, tmpl, path,
	    who, r->status, want1, want2 ? " or " : "", want2, r->body);
	if (r->status == 401)
		cr_expect(err_code(r) != NULL, "%s %s: 401 not in the "
		    "envelope: %s", method, tmpl, r->body);
	resp_free(r);
}

Test(authz, every_operation_refuses_who_may_not_call_it, .timeout = 300)
{
	static const char *const methods[] = { "get", "post", "put", "patch",
	    "delete", NULL };
	struct tally	 t;
	json_error_t	 jerr;
	json_t		*doc, *paths, *item, *op, *sec;
	const char	*tmpl;
	char		 path[512], method[8], *body;
	size_t		 i, k;
	int		 np, unk, nbearer = 0;
	long		 w1 = 404, w2 = 0;

	doc = json_load_file(DOC, 0, &jerr);
	cr_assert_not_null(doc, "%s: %s", DOC, jerr.text);
	paths = json_object_get(doc, "paths");
	cr_assert(json_is_object(paths));
	memset(&t, 0, sizeof(t));
	owned_make();

	json_object_foreach(paths, tmpl, item) {
		for (i = 0; methods[i] != NULL; i++) {
			if ((op = json_object_get(item, methods[i])) == NULL)
				continue;
			sec = json_object_get(op, "security");
			if (sec == NULL)
				sec = json_object_get(doc, "security");
			if (!json_is_array(sec) || json_array_size(sec) == 0)
				continue;	/* public */
			nbearer++;
			for (k = 0; methods[i][k] != '\0'; k++)
				method[k] = (char)toupper(
				    (unsigned char)methods[i][k]);
			method[k] = '\0';
			fill(tmpl, path, sizeof(path), 0, &np, &unk);
			body = body_for(doc, op);
			/*
			 * A POST without a body still says Content-Length: 0,
			 * as clients do (without it Kore answers 411 before
			 * any handler runs).
			 */
			if (body == NULL && strcmp(method, "GET") != 0 &&
			    strcmp(method, "DELETE") != 0)
				body = strdup("");
			t.ops++;

			expect(&t, method, tmpl, path, NULL, body, "no token",
			    401, 0);
			for (k = 0; k < 3; k++)
				expect(&t, method, tmpl, path, own.bad[k], body,
				    "a malformed token", 401, 0);
			expect(&t, method, tmpl, path, own.expired, body,
			    "an expired token", 401, 0);

			if (tagged(op, "admin")) {
				t.admin++;
				expect(&t, method, tmpl, path, own.b.token,
				    body, "a normal user", 403, 0);
				free(body);
				continue;
			}
			if (np > 0) {
				/* Another user on a's resources. */
				t.owned++;
				w1 = declares(op, 404) ? 404 : 403;
				w2 = declares(op, 403) ? 403 : 0;
				expect(&t, method, tmpl, path, own.b.token,
				    body, "another user", w1, w2);
			}
			if (unk > 0) {
				t.unknown++;
				expect(&t, method, tmpl, path, own.a.token,
				    body, "the owner, unknown id", 404, 0);
			}
			if (np > 0) {
				/* Ids that name nothing: 404 (403 for a
				 * user that is not the caller). */
				fill(tmpl, path, sizeof(path), 1, &np, &unk);
				expect(&t, method, tmpl, path, own.a.token,
				    body, "the owner, random ids", w1, w2);
			}
			free(body);
		}
	}
	printf("e2e-report: authz matrix: %d operations (%d with another "
	    "user's resources, %d admin, %d with unknown parameters), %d "
	    "calls\n", t.ops, t.owned, t.admin, t.unknown, t.calls);
	fflush(stdout);
	cr_assert_eq(t.ops, nbearer);
	/* A document that lost its paths would pass an empty matrix. */
	cr_assert_geq(t.ops, 40, "only %d operations in %s", t.ops, DOC);
	cr_assert_geq(t.owned, 20);
	cr_assert_geq(t.admin, 4);
	json_decref(doc);
	free(own.expired);
	for (k = 0; k < 3; k++)
		free(own.bad[k]);
}
