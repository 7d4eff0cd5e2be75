/*
 * The OpenAPI document matches the server: it is valid (checked by
 * swagger-parser from the npm registry), every documented path and method
 * is served by a route of kore.conf that is not the 404 catch-all, every
 * route of kore.conf is documented, and every method a route answers is
 * documented.
 */
#include <criterion/criterion.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"

#define ROUTES_MAX	256
#define SAMPLE_ID	"00000000-0000-4000-8000-000000000000"

struct route {
	char		pattern[256];
	char		handler[128];
	int		exact;
	regex_t		re;
	int		documented;
};

static struct route	routes[ROUTES_MAX];
static int		nroutes;

static void
load_routes(void)
{
	char		line[512], pat[256], hdl[128];
	FILE		*fp;

	nroutes = 0;
	fp = fopen("kore.conf", "r");
	cr_assert_not_null(fp, "kore.conf not found (run from the root)");
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " route %255s %127s", pat, hdl) != 2)
			continue;
		cr_assert_lt(nroutes, ROUTES_MAX);
		(void)snprintf(routes[nroutes].pattern, sizeof(pat), "%s", pat);
		(void)snprintf(routes[nroutes].handler, sizeof(hdl), "%s", hdl);
		routes[nroutes].exact = pat[0] == '/';
		if (!routes[nroutes].exact)
			cr_assert_eq(regcomp(&routes[nroutes].re, pat,
			    REG_EXTENDED | REG_NOSUB), 0, "bad regex %s", pat);
		routes[nroutes].documented = 0;
		nroutes++;
	}
	(void)fclose(fp);
	cr_assert_gt(nroutes, 5);
}

/* The route Kore picks for path: the first that matches. */
static struct route *
route_for(const char *path)
{
	int	i;

	for (i = 0; i < nroutes; i++) {
		if (routes[i].exact) {
			if (!strcmp(routes[i].pattern, path))
				return (&routes[i]);
		} else if (regexec(&routes[i].re, path, 0, NULL, 0) == 0) {
			return (&routes[i]);
		}
	}
	return (NULL);
}

/* /a/{id}/b → /a/<sample>/b */
static void
sample_path(const char *tmpl, char *out, size_t len)
{
	const char	*p;
	size_t		o;

	o = 0;
	for (p = tmpl; *p != '\0' && o + 40 < len; p++) {
		if (*p == '{') {
			while (*p != '\0' && *p != '}')
				p++;
			o += (size_t)snprintf(out + o, len - o, "%s",
			    SAMPLE_ID);
			if (*p == '\0')
				break;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

Test(openapi, document_is_valid_openapi_3_1)
{
	int	rc;

	rc = system("node tests/openapi/validate.js build/openapi.json");
	cr_assert_eq(rc, 0, "swagger-parser rejected build/openapi.json");
}

Test(openapi, document_and_routes_match)
{
	struct resp	*doc, *opt;
	struct route	*rt;
	json_t		*paths, *item, *op;
	const char	*tmpl, *method, *allow;
	char		sample[512], upper[16], *tok, *save, buf[256];
	int		i, k;

	load_routes();
	doc = http_get("/openapi.json");
	cr_assert_eq(doc->status, 200);
	paths = jpath(doc->json, "paths");
	cr_assert(json_is_object(paths));

	json_object_foreach(paths, tmpl, item) {
		sample_path(tmpl, sample, sizeof(sample));
		rt = route_for(sample);
		cr_assert_not_null(rt, "%s: no route", tmpl);
		cr_expect_str_neq(rt->handler, "page_notfound",
		    "documented path %s has no route in kore.conf", tmpl);
		rt->documented = 1;

		opt = http_req("OPTIONS", sample, NULL, NULL, 0);
		allow = resp_header(opt, "allow");
		cr_assert_not_null(allow, "%s: no Allow header", tmpl);
		(void)snprintf(buf, sizeof(buf), "%s", allow);

		/* Every documented method is answered... */
		json_object_foreach(item, method, op) {
			if (!strcmp(method, "parameters") ||
			    !strcmp(method, "summary") ||
			    !strcmp(method, "description"))
				continue;
			for (k = 0; method[k] != '\0' && k < 15; k++)
				upper[k] = (char)(method[k] & ~0x20);
			upper[k] = '\0';
			cr_expect_not_null(strstr(allow, upper),
			    "%s %s documented but not served (Allow: %s)",
			    upper, tmpl, allow);
		}
		/* ...and every served method is documented. */
		for (tok = strtok_r(buf, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save)) {
			if (!strcmp(tok, "HEAD") || !strcmp(tok, "OPTIONS"))
				continue;
			for (k = 0; tok[k] != '\0' && k < 15; k++)
				upper[k] = (char)(tok[k] | 0x20);
			upper[k] = '\0';
			cr_expect_not_null(json_object_get(item, upper),
			    "%s %s served but not documented", tok, tmpl);
		}
		resp_free(opt);
	}

	for (i = 0; i < nroutes; i++) {
		if (!strcmp(routes[i].handler, "page_notfound"))
			continue;
		cr_expect(routes[i].documented,
		    "route %s (%s) is not in the OpenAPI document",
		    routes[i].pattern, routes[i].handler);
	}
	resp_free(doc);
}
