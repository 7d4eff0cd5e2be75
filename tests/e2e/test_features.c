/*
 * Feature toggles (FEATURE_<NAME>=on|off) and /api/v1/features: a switched
 * off area answers 404 feature_disabled on every route it owns, in the
 * envelope, before authentication; /api/v1/features reports only what the
 * server really serves.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"

/* Does kore.conf route any path under prefix (a workflows route ...)? */
static int
conf_routes(const char *prefix)
{
	char		line[512], pat[256], hdl[128];
	FILE		*fp;
	int		found;

	found = 0;
	fp = fopen("kore.conf", "r");
	cr_assert_not_null(fp, "kore.conf not found (run from the root)");
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " route %255s %127s", pat, hdl) != 2)
			continue;
		if (strstr(pat, prefix) != NULL)
			found = 1;
	}
	(void)fclose(fp);
	return (found);
}

static void
expect_disabled(const char *base, const char *method, const char *path,
    const char *token, const char *feature)
{
	struct resp	*r;

	r = fx_req(base, method, path, token, NULL,
	    strcmp(method, "GET") ? "{}" : NULL);
	fx_error(r, 404, "feature_disabled");
	cr_expect_str_eq(jstr(r, "error.details.feature"), feature, "%s %s",
	    method, path);
	cr_expect_str_eq(jstr(r, "request_id"), resp_header(r, "x-request-id"));
	resp_free(r);
}

Test(features, report_what_this_server_serves)
{
	struct resp	*r;

	r = http_get("/api/v1/features");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "data.registration")));
	cr_expect(json_is_true(jpath(r->json, "data.documents")));
	cr_expect(json_is_true(jpath(r->json, "data.todos")));
	cr_expect(json_is_true(jpath(r->json, "data.phone_verification")));
	/* The e2e instance has the stand-in LLM configured. */
	cr_expect(json_is_true(jpath(r->json, "data.chat")));
	cr_expect(json_is_true(jpath(r->json, "data.document_analysis")));
	/* True only once kore.conf routes to workflows (analytics). */
	cr_expect_eq(json_is_true(jpath(r->json, "data.workflows")),
	    conf_routes("/api/v1/workflows"), "%s", r->body);
	cr_expect_eq(json_is_true(jpath(r->json, "data.analytics")),
	    conf_routes("/api/v1/analytics"), "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.toggles.FEATURE_DOCUMENTS"), "on");
	cr_expect_str_eq(jstr(r, "data.toggles.FEATURE_WORKFLOWS"), "on");
	resp_free(r);
}

Test(features, switched_off_areas_answer_404_feature_disabled)
{
	static const char *const env[] = { "FEATURE_DOCUMENTS=off",
	    "FEATURE_TODOS=false", "FEATURE_REGISTRATION=no",
	    "FEATURE_WORKFLOWS=off", "JOBS_DISABLED=1", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 path[256];

	/* The account comes from the main instance (same database). */
	fx_new(&a, "feat");
	fx_srv_start(&s, env);

	/* Before authentication: no token, still 404, not 401. */
	expect_disabled(s.base, "GET", "/api/v1/documents", NULL,
	    "documents");
	expect_disabled(s.base, "GET", "/api/v1/documents", a.token,
	    "documents");
	expect_disabled(s.base, "POST", "/api/v1/documents", a.token,
	    "documents");
	expect_disabled(s.base, "GET",
	    "/api/v1/documents/00000000-0000-4000-8000-000000000000/analysis",
	    a.token, "documents");
	expect_disabled(s.base, "DELETE",
	    "/api/v1/documents/00000000-0000-4000-8000-000000000000",
	    a.token, "documents");
	expect_disabled(s.base, "OPTIONS", "/api/v1/documents", NULL,
	    "documents");
	/* Chat stays on, but its document attachments belong to documents. */
	expect_disabled(s.base, "GET", "/api/v1/chat/conversations/"
	    "00000000-0000-4000-8000-000000000000/documents", a.token,
	    "documents");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);
	expect_disabled(s.base, "GET", path, a.token, "todos");
	expect_disabled(s.base, "POST", path, a.token, "todos");
	expect_disabled(s.base, "POST", "/api/v1/auth/register", NULL,
	    "registration");

	/* What is on still works on that instance. */
	r = fx_req(s.base, "GET", "/api/v1/users/me", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = fx_req(s.base, "GET", "/api/v1/chat/conversations", a.token,
	    NULL, NULL);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = fx_login(s.base, NULL, a.email, FX_PASSWORD);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	/* An unknown path is still the plain 404. */
	r = fx_req(s.base, "GET", "/api/v1/nothing-here", NULL, NULL, NULL);
	fx_error(r, 404, "not_found");
	resp_free(r);

	r = http_req_to(s.base, "GET", "/api/v1/features", NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_false(jpath(r->json, "data.documents")));
	cr_expect(json_is_false(jpath(r->json, "data.document_analysis")));
	cr_expect(json_is_false(jpath(r->json, "data.todos")));
	cr_expect(json_is_false(jpath(r->json, "data.registration")));
	cr_expect(json_is_false(jpath(r->json, "data.workflows")));
	cr_expect(json_is_true(jpath(r->json, "data.chat")));
	cr_expect(json_is_true(jpath(r->json, "data.phone_verification")));
	cr_expect_str_eq(jstr(r, "data.toggles.FEATURE_DOCUMENTS"), "off");
	cr_expect_str_eq(jstr(r, "data.toggles.FEATURE_TODOS"), "off");
	cr_expect_str_eq(jstr(r, "data.toggles.FEATURE_CHAT"), "on");
	resp_free(r);

	fx_srv_stop(&s);

	/* The main instance, toggles on, serves the same routes. */
	r = fx_req(NULL, "GET", "/api/v1/documents", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
}
