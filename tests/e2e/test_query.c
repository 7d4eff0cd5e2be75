/*
 * Query parameters and form fields as kore.conf declares them (params
 * blocks and validators, read by src/query.c) against the real server:
 * every refused field is listed in one 400, a parameter no block binds is
 * ignored, a value keeps what Kore's own parser would cut or drop, a HEAD
 * reads its GET's parameters, and an upload's form fields are refused by
 * their validators with the field named.
 */
#include "fixture.h"

#define DOCS		"/api/v1/documents"

/* The number of fields a validation error lists. */
static size_t
nfields(struct resp *r)
{
	return (json_array_size(jpath(r->json, "error.details.fields")));
}

Test(query, every_refused_field_is_listed)
{
	struct user	 a;
	struct resp	*r;
	char		 q[1100];

	fx_new(&a, "q-all");
	memset(q, 'a', 1001);
	q[1001] = '\0';
	r = fx_call("GET", &a, NULL, DOCS "?status=bogus&q=%s&limit=0"
	    "&skip=-1&category=%%ff&colour=red", q);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "status"), "invalid_choice", "%s",
	    r->body);
	cr_expect_str_eq(fx_issue(r, "q"), "too_long");
	cr_expect_str_eq(fx_issue(r, "limit"), "out_of_range");
	cr_expect_str_eq(fx_issue(r, "offset"), "out_of_range",
	    "skip is reported as offset: %s", r->body);
	cr_expect_str_eq(fx_issue(r, "category"), "invalid");
	cr_expect_eq(nfields(r), 5, "colour is not a field: %s", r->body);
	resp_free(r);

	/* Another route, other validators, all at once. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?status=done"
	    "&sort_by=colour&limit=101&offset=x", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "status"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "sort_by"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "limit"), "out_of_range");
	cr_expect_str_eq(fx_issue(r, "offset"), "out_of_range");
	cr_expect_eq(nfields(r), 4, "%s", r->body);
	resp_free(r);
}

Test(query, unbound_parameters_are_ignored_and_values_are_kept)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "q-keep");
	r = fx_call("GET", &a, NULL, DOCS "?colour=red&limit=007&offset=0"
	    "&q=a=b");
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.limit"), 7, "%s", r->body);
	cr_expect_eq(jint(r, "data.offset"), 0);
	resp_free(r);

	/*
	 * A second '=' belongs to the value: "ab=cd" is refused for its
	 * characters, not as "ab", too short.
	 */
	r = fx_call("GET", NULL, NULL,
	    "/api/v1/auth/username-available?username=ab=cd");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "username"), "invalid", "%s", r->body);
	cr_expect_eq(nfields(r), 1);
	resp_free(r);

	/* An empty value reaches its validator: days must have one. */
	r = fx_call("GET", &a, NULL, "/api/v1/analytics/usage?days=");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "days"), "out_of_range");
	resp_free(r);

	/* ...and is absent where the validator allows it. */
	r = fx_call("GET", &a, NULL, DOCS "?status=&q=");
	fx_status(r, 200);
	resp_free(r);

	/* No username at all is missing, not refused. */
	r = fx_call("GET", NULL, NULL, "/api/v1/auth/username-available");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "username"), "missing");
	resp_free(r);
}

Test(query, head_reads_the_get_parameters)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "q-head");
	r = fx_call("HEAD", &a, NULL, DOCS "?limit=0");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = fx_call("HEAD", &a, NULL, DOCS "?limit=1");
	cr_expect_eq(r->status, 200);
	resp_free(r);
}

/* POST a text file with the given form fields (name, value pairs). */
static struct resp *
upload(struct user *a, const char *const *fields)
{
	static const char	text[] = "The lessee shall pay rent monthly.";

	return (fx_upload(NULL, a, "note.txt", text, sizeof(text) - 1,
	    fields));
}

Test(query, upload_form_fields_are_refused_by_their_validators)
{
	struct user	 a;
	struct resp	*r;
	char		 longer[128];
	const char	*bad[] = { "document_category", "lease",
	    "jurisdiction", longer, "practice_area", "caf\xe9", NULL };
	const char	*good[] = { "document_category", "  lease  ",
	    "jurisdiction", "", "practice_area", "Real estate", NULL };

	fx_new(&a, "q-form");
	memset(longer, 'j', 101);
	longer[101] = '\0';
	r = upload(&a, bad);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "jurisdiction"), "too_long", "%s",
	    r->body);
	cr_expect_str_eq(fx_issue(r, "practice_area"), "invalid");
	cr_expect_null(fx_issue(r, "document_category"));
	cr_expect_eq(nfields(r), 2, "%s", r->body);
	resp_free(r);

	r = upload(&a, good);
	fx_status(r, 201);
	cr_expect_str_eq(jstr(r, "data.document_category"), "lease", "%s",
	    r->body);
	cr_expect_null(jstr(r, "data.jurisdiction"));
	cr_expect_str_eq(jstr(r, "data.practice_area"), "Real estate");
	resp_free(r);
}
