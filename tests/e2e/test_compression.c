/*
 * Compression at the nginx front: JSON answers over 1 KiB are gzipped
 * for clients that accept it, small ones and Server-Sent Events never.
 * Tested through the front (E2E_TLS), as a client sees it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static const char *
tls(void)
{
	const char	*t;

	t = env_or("E2E_TLS", NULL);
	cr_assert_not_null(t, "E2E_TLS not set");
	return (t);
}

/* method path through the front, as a, with gzip accepted or not. */
static struct resp *
front(struct user *a, const char *method, const char *path, int gzip,
    const char *extra, const char *body)
{
	const char	*hdrs[6];
	char		 auth[FX_TOKEN_MAX + 32];
	int		 n;

	n = 0;
	hdrs[n++] = "Content-Type: application/json";
	if (a != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    a->token);
		hdrs[n++] = auth;
	}
	if (gzip)
		hdrs[n++] = "Accept-Encoding: gzip";
	if (extra != NULL)
		hdrs[n++] = extra;
	hdrs[n] = NULL;
	return (http_req_to(tls(), method, path, hdrs, body,
	    body ? strlen(body) : 0));
}

/* gunzip r's body with gzip(1); a malloc'd NUL-terminated text. */
static char *
gunzip(struct resp *r, size_t *len)
{
	char		 in[] = "/tmp/elenchus-gz-XXXXXX", cmd[128], *out;
	FILE		*fp;
	size_t		 cap, n;
	int		 fd;

	fd = mkstemp(in);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, r->body, r->len), (ssize_t)r->len);
	(void)close(fd);
	(void)snprintf(cmd, sizeof(cmd), "gzip -dc < %s", in);
	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	cap = 1 << 20;
	out = malloc(cap + 1);
	n = fread(out, 1, cap, fp);
	cr_assert_eq(pclose(fp), 0, "not gzip");
	(void)unlink(in);
	out[n] = '\0';
	*len = n;
	return (out);
}

Test(compression, json_over_1kib_is_gzipped_through_the_front)
{
	struct user	 a;
	struct resp	*r, *plain;
	char		 path[256], body[256], tag[64], *text;
	size_t		 len;
	int		 i;

	fx_new(&a, "gzip");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);
	for (i = 0; i < 12; i++) {
		(void)snprintf(body, sizeof(body), "{\"title\": \"Review the "
		    "indemnity clause of contract %d with the client\"}", i);
		r = fx_req(NULL, "POST", path, a.token, NULL, body);
		cr_assert_eq(r->status, 201, "%s", r->body);
		resp_free(r);
	}

	plain = front(&a, "GET", path, 0, NULL, NULL);
	cr_assert_eq(plain->status, 200, "%s", plain->body);
	cr_expect_null(resp_header(plain, "content-encoding"));
	cr_assert_gt(plain->len, 1024, "the list is %zu bytes", plain->len);

	r = front(&a, "GET", path, 1, NULL, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(resp_header(r, "content-encoding"), "gzip");
	cr_expect_not_null(strstr(resp_header(r, "vary"), "Accept-Encoding"));
	cr_expect_lt(r->len, plain->len);
	cr_expect((unsigned char)r->body[0] == 0x1f &&
	    (unsigned char)r->body[1] == 0x8b);
	text = gunzip(r, &len);
	cr_expect_eq(len, plain->len);
	cr_expect_eq(memcmp(text, plain->body, plain->len), 0,
	    "the gzipped answer differs");
	free(text);

	/* The ETag still revalidates (nginx makes it weak when it gzips). */
	cr_assert_not_null(resp_header(r, "etag"));
	(void)snprintf(tag, sizeof(tag), "If-None-Match: %s",
	    resp_header(r, "etag"));
	resp_free(r);
	r = front(&a, "GET", path, 1, tag, NULL);
	cr_expect_eq(r->status, 304, "%ld %s", r->status, r->body);
	resp_free(r);
	resp_free(plain);
}

Test(compression, small_json_is_not_gzipped)
{
	struct resp	*r;

	r = front(NULL, "GET", "/api/v1/health", 1, NULL, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_lt(r->len, 1024);
	cr_expect_null(resp_header(r, "content-encoding"));
	cr_expect_not_null(r->json, "not plain JSON: %s", r->body);
	resp_free(r);
}

Test(compression, server_sent_events_are_never_gzipped)
{
	struct user	 a;
	struct resp	*r;
	char		 body[2048];
	int		 n;

	fx_new(&a, "gzsse");
	/* A long question makes a long streamed answer (the stand-in
	 * echoes it). */
	n = snprintf(body, sizeof(body), "{\"stream\": true, \"content\": \"");
	while (n < 1500)
		n += snprintf(body + n, sizeof(body) - (size_t)n,
		    "Is clause %d enforceable? ", n);
	(void)snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
	r = front(&a, "POST", "/api/v1/chat", 1,
	    "Accept: text/event-stream", body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(resp_header(r, "content-type"),
	    "text/event-stream; charset=utf-8");
	cr_expect_null(resp_header(r, "content-encoding"));
	cr_expect_not_null(strstr(r->body, "event: delta"), "%s", r->body);
	cr_expect_not_null(strstr(r->body, "event: done"), "%s", r->body);
	resp_free(r);
}
