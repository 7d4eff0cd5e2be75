/*
 * Bounded JSON input on every JSON route (docs/API.md §1), shown on the
 * public login route and an authenticated one: size, syntax, type,
 * depth, UTF-8 — always a 4xx in the envelope, never a 500 or a hang.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static struct resp *
post_raw(const char *path, const char *body, size_t len)
{
	const char	*h[] = { "Content-Type: application/json", NULL };

	return (http_req("POST", path, h, body, len));
}

Test(bodies, json_over_one_mebibyte_is_413)
{
	struct resp	*r;
	size_t		len;
	char		*big;

	len = 1024 * 1024 + 64;
	big = malloc(len + 1);
	memset(big, ' ', len);
	memcpy(big, "{\"email\":\"", 10);
	big[len - 2] = '"';
	big[len - 1] = '}';
	big[len] = '\0';
	r = post_raw("/api/v1/auth/login", big, len);
	fx_error(r, 413, "payload_too_large");
	resp_free(r);
	free(big);
}

Test(bodies, malformed_json_is_400_invalid_json)
{
	struct resp	*r;

	r = post_raw("/api/v1/auth/login", "{\"email\": ", 10);
	fx_error(r, 400, "invalid_json");
	resp_free(r);

	r = post_raw("/api/v1/auth/login", "{\"a\":1,\"a\":2}", 13);
	fx_error(r, 400, "invalid_json");
	resp_free(r);
}

Test(bodies, non_object_bodies_are_400)
{
	static const char *const bodies[] = { "[1,2,3]", "\"text\"", "42",
	    "null", "true" };
	struct resp	*r;
	size_t		i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		r = post_raw("/api/v1/auth/login", bodies[i],
		    strlen(bodies[i]));
		cr_expect_eq(r->status, 400, "%s -> %ld", bodies[i],
		    r->status);
		cr_expect(json_is_false(jpath(r->json, "success")));
		cr_expect_not_null(err_code(r));
		resp_free(r);
	}
}

Test(bodies, nesting_deeper_than_32_is_400)
{
	char		buf[512];
	struct resp	*r;
	int		i, n;

	n = 0;
	buf[n++] = '{';
	memcpy(buf + n, "\"x\":", 4);
	n += 4;
	for (i = 0; i < 40; i++)
		buf[n++] = '[';
	for (i = 0; i < 40; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	r = post_raw("/api/v1/auth/login", buf, (size_t)n);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(strstr(r->body, "nested"));
	resp_free(r);
}

Test(bodies, invalid_utf8_is_400)
{
	static const char bad[] = "{\"email\":\"a\xff\xfe@b.test\","
	    "\"password\":\"x\"}";
	struct resp	*r;

	r = post_raw("/api/v1/auth/login", bad, sizeof(bad) - 1);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(strstr(r->body, "UTF-8"));
	resp_free(r);
}

Test(bodies, escaped_unicode_is_accepted)
{
	static const char body[] = "{\"email\":\"caf\\u00e9@unknown.test\","
	    "\"password\":\"Wr0ng-Passw0rd\"}";
	struct resp	*r;

	/* A well-formed login for nobody: 401, proving it was parsed. */
	r = post_raw("/api/v1/auth/login", body, sizeof(body) - 1);
	fx_error(r, 401, "invalid_credentials");
	resp_free(r);
}

Test(bodies, authenticated_route_bounds_too)
{
	struct user	u;
	char		path[128];
	const char	*tok;

	fx_new(&u, "b");
	tok = u.token;
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", u.id);

	{
		struct resp	*e;

		e = http_json("POST", path, tok, "{\"title\": ");
		fx_error(e, 400, "invalid_json");
		resp_free(e);
		e = http_json("POST", path, tok, "[]");
		cr_expect_eq(e->status, 400);
		resp_free(e);
	}
}
