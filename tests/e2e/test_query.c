/*
 * Query parameters and form fields as kore.conf declares them (params
 * blocks and validators, read by src/query.c) against the real server:
 * every refused field is listed in one 400, a parameter no block binds is
 * ignored, a value keeps what Kore's own parser would cut or drop, a HEAD
 * reads its GET's parameters, and an upload's form fields are refused by
 * their validators with the field named.
 */
#include "users_fixture.h"

#define DOCS		"/api/v1/documents"
#define BOUNDARY	"----e2e-query-boundary"

/* The number of fields a validation error lists. */
static size_t
nfields(struct resp *r)
{
	return (json_array_size(jpath(r->json, "error.details.fields")));
}

Test(query, every_refused_field_is_listed)
{
	struct acct	 a;
	struct resp	*r;
	char		 q[1100];

	uf_new(&a, "q-all");
	memset(q, 'a', 1001);
	q[1001] = '\0';
	r = uf_call("GET", &a, NULL, DOCS "?status=bogus&q=%s&limit=0"
	    "&skip=-1&category=%%ff&colour=red", q);
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "status"), "invalid_choice", "%s",
	    r->body);
	cr_expect_str_eq(uf_issue(r, "q"), "too_long");
	cr_expect_str_eq(uf_issue(r, "limit"), "out_of_range");
	cr_expect_str_eq(uf_issue(r, "offset"), "out_of_range",
	    "skip is reported as offset: %s", r->body);
	cr_expect_str_eq(uf_issue(r, "category"), "invalid");
	cr_expect_eq(nfields(r), 5, "colour is not a field: %s", r->body);
	resp_free(r);

	/* Another route, other validators, all at once. */
	r = uf_call("GET", &a, NULL, "/api/v1/users/%s/todos?status=done"
	    "&sort_by=colour&limit=101&offset=x", a.id);
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "status"), "invalid_choice");
	cr_expect_str_eq(uf_issue(r, "sort_by"), "invalid_choice");
	cr_expect_str_eq(uf_issue(r, "limit"), "out_of_range");
	cr_expect_str_eq(uf_issue(r, "offset"), "out_of_range");
	cr_expect_eq(nfields(r), 4, "%s", r->body);
	resp_free(r);
}

Test(query, unbound_parameters_are_ignored_and_values_are_kept)
{
	struct acct	 a;
	struct resp	*r;

	uf_new(&a, "q-keep");
	r = uf_call("GET", &a, NULL, DOCS "?colour=red&limit=007&offset=0"
	    "&q=a=b");
	uf_status(r, 200);
	cr_expect_eq(jint(r, "data.limit"), 7, "%s", r->body);
	cr_expect_eq(jint(r, "data.offset"), 0);
	resp_free(r);

	/*
	 * A second '=' belongs to the value: "ab=cd" is refused for its
	 * characters, not as "ab", too short.
	 */
	r = uf_call("GET", NULL, NULL,
	    "/api/v1/auth/username-available?username=ab=cd");
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "username"), "invalid", "%s", r->body);
	cr_expect_eq(nfields(r), 1);
	resp_free(r);

	/* An empty value reaches its validator: days must have one. */
	r = uf_call("GET", &a, NULL, "/api/v1/analytics/usage?days=");
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "days"), "out_of_range");
	resp_free(r);

	/* ...and is absent where the validator allows it. */
	r = uf_call("GET", &a, NULL, DOCS "?status=&q=");
	uf_status(r, 200);
	resp_free(r);

	/* No username at all is missing, not refused. */
	r = uf_call("GET", NULL, NULL, "/api/v1/auth/username-available");
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "username"), "missing");
	resp_free(r);
}

Test(query, head_reads_the_get_parameters)
{
	struct acct	 a;
	struct resp	*r;
	const char	*hdrs[2];
	char		 auth[4200];

	uf_new(&a, "q-head");
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    a.token);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	r = http_req("HEAD", DOCS "?limit=0", hdrs, NULL, 0);
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = http_req("HEAD", DOCS "?limit=1", hdrs, NULL, 0);
	cr_expect_eq(r->status, 200);
	resp_free(r);
}

/* POST a text file with the given form fields (name, value pairs). */
static struct resp *
upload(struct acct *a, const char *const *fields)
{
	const char	*hdrs[3];
	struct resp	*r;
	char		 body[8192], head[256], auth[4200];
	size_t		 n;
	int		 i;

	n = 0;
	for (i = 0; fields[i] != NULL; i += 2)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "--%s\r\n"
		    "Content-Disposition: form-data; name=\"%s\"\r\n\r\n"
		    "%s\r\n", BOUNDARY, fields[i], fields[i + 1]);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "--%s\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\n"
	    "The lessee shall pay rent monthly.\r\n--%s--\r\n", BOUNDARY,
	    BOUNDARY);
	(void)snprintf(head, sizeof(head),
	    "Content-Type: multipart/form-data; boundary=%s", BOUNDARY);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    a->token);
	hdrs[0] = head;
	hdrs[1] = auth;
	hdrs[2] = NULL;
	r = http_req("POST", DOCS, hdrs, body, n);
	return (r);
}

Test(query, upload_form_fields_are_refused_by_their_validators)
{
	struct acct	 a;
	struct resp	*r;
	char		 longer[128];
	const char	*bad[] = { "document_category", "lease",
	    "jurisdiction", longer, "practice_area", "caf\xe9", NULL };
	const char	*good[] = { "document_category", "  lease  ",
	    "jurisdiction", "", "practice_area", "Real estate", NULL };

	uf_new(&a, "q-form");
	memset(longer, 'j', 101);
	longer[101] = '\0';
	r = upload(&a, bad);
	uf_error(r, 400, "validation_error");
	cr_expect_str_eq(uf_issue(r, "jurisdiction"), "too_long", "%s",
	    r->body);
	cr_expect_str_eq(uf_issue(r, "practice_area"), "invalid");
	cr_expect_null(uf_issue(r, "document_category"));
	cr_expect_eq(nfields(r), 2, "%s", r->body);
	resp_free(r);

	r = upload(&a, good);
	uf_status(r, 201);
	cr_expect_str_eq(jstr(r, "data.document_category"), "lease", "%s",
	    r->body);
	cr_expect_null(jstr(r, "data.jurisdiction"));
	cr_expect_str_eq(jstr(r, "data.practice_area"), "Real estate");
	resp_free(r);
}
