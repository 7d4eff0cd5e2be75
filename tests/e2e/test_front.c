/*
 * The nginx TLS front (conf/nginx-site.conf): what it answers itself is in
 * the API's envelope with an X-Request-ID (docs/API.md §1), and bodies are
 * bounded per route before authentication.  Kore down or silent is shown
 * with fronts of their own, pointed at a dead port and at a listener that
 * never answers; the shared server is never stopped.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define JSON_MAX	(1024 * 1024)		/* JSON_BODY_MAX_KB default */
#define UPLOAD_MAX	(20 * 1024 * 1024)	/* MAX_UPLOAD_BYTES default */

static const char *
tls(void)
{
	return (env_or("E2E_TLS", "https://127.0.0.1:8443"));
}

/* The answer is the front's envelope for status and code, id and all. */
static void
expect_envelope(struct resp *r, long status, const char *code)
{
	fx_error(r, status, code);
	cr_expect_str_eq(resp_header(r, "content-type"),
	    "application/json; charset=utf-8");
	cr_expect_not_null(resp_header(r, "strict-transport-security"));
}

static char *
zeros(size_t n)
{
	char	*b;

	b = malloc(n + 1);
	cr_assert_not_null(b);
	memset(b, 'a', n);
	b[n] = '\0';
	return (b);
}

/* A multipart body whose file part holds n bytes. */
static char *
multipart(size_t n, size_t *len)
{
	static const char	head[] = "--xYz\r\nContent-Disposition: "
	    "form-data; name=\"file\"; filename=\"big.txt\"\r\n"
	    "Content-Type: text/plain\r\n\r\n";
	static const char	tail[] = "\r\n--xYz--\r\n";
	char			*b;

	*len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	b = malloc(*len);
	cr_assert_not_null(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'a', n);
	memcpy(b + sizeof(head) - 1 + n, tail, sizeof(tail) - 1);
	return (b);
}

/* A listener that accepts connections (the kernel does) and never answers. */
static int
silent_listener(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		sl;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	sl = sizeof(sin);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return (fd);
}

Test(front, json_body_over_the_json_limit_is_413_before_authentication)
{
	const char	*h[] = { "Content-Type: application/json", NULL };
	struct resp	*r;
	char		*big;

	/* 2 MiB to a JSON route: the front refuses it, Kore never sees it. */
	big = zeros(2 * JSON_MAX);
	r = http_req_to(tls(), "POST", "/api/v1/users/me/todos", h, big,
	    2 * JSON_MAX);
	expect_envelope(r, 413, "payload_too_large");
	cr_expect_eq(jint(r, "error.details.max_bytes"), JSON_MAX);
	resp_free(r);
	/* The same over HTTP/1.1. */
	http_version = CURL_HTTP_VERSION_1_1;
	r = http_req_to(tls(), "POST", "/api/v1/auth/login", h, big,
	    2 * JSON_MAX);
	expect_envelope(r, 413, "payload_too_large");
	resp_free(r);
	free(big);
}

Test(front, only_the_upload_route_takes_upload_sized_bodies)
{
	const char	*h[] = { "Content-Type: multipart/form-data; "
	    "boundary=xYz", NULL };
	struct resp	*r;
	char		*body;
	size_t		 len;

	/* 2 MiB to the upload route passes the front: Kore asks who it is. */
	body = multipart(2 * JSON_MAX, &len);
	r = http_req_to(tls(), "POST", "/api/v1/documents", h, body, len);
	cr_expect_eq(r->status, 401, "%s", r->body);
	cr_expect_str_eq(err_code(r), "unauthorized", "%s", r->body);
	resp_free(r);
	free(body);

	/* Past MAX_UPLOAD_BYTES and the framing: the front's 413. */
	body = multipart(UPLOAD_MAX + 1024 * 1024, &len);
	r = http_req_to(tls(), "POST", "/api/v1/documents", h, body, len);
	expect_envelope(r, 413, "payload_too_large");
	cr_expect_eq(jint(r, "error.details.max_bytes"), UPLOAD_MAX);
	resp_free(r);
	free(body);
}

Test(front, long_request_line_is_414_and_bad_request_is_400)
{
	const char	*nohost[] = { "Host:", NULL };
	struct resp	*r;
	char		*path;

	http_version = CURL_HTTP_VERSION_1_1;
	path = zeros(20000);
	path[0] = '/';
	r = http_req_to(tls(), "GET", path, NULL, NULL, 0);
	expect_envelope(r, 414, "uri_too_long");
	resp_free(r);
	free(path);

	/* HTTP/1.1 without Host is malformed. */
	r = http_req_to(tls(), "GET", "/health", nohost, NULL, 0);
	expect_envelope(r, 400, "bad_request");
	resp_free(r);
}

Test(front, errors_from_kore_pass_through_untouched)
{
	struct resp	*r;
	char		 hdr[96], *rid;
	const char	*h[2];

	rid = uniq("front-");
	(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s", rid);
	h[0] = hdr;
	h[1] = NULL;
	r = http_req_to(tls(), "GET", "/api/v1/no-such-route", h, NULL, 0);
	expect_envelope(r, 404, "not_found");
	cr_expect_str_eq(resp_header(r, "x-request-id"), rid);
	resp_free(r);
}

Test(front, kore_down_is_502_in_the_envelope)
{
	struct front	 f;
	struct resp	*r;
	char		 hdr[96], *rid;
	const char	*h[2];

	/* Nothing listens on the upstream port: connection refused. */
	fx_front_start(&f, fx_free_port(), NULL);
	rid = uniq("down-");
	(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s", rid);
	h[0] = hdr;
	h[1] = NULL;
	r = http_req_to(f.base, "GET", "/api/v1/auth/me", h, NULL, 0);
	expect_envelope(r, 502, "bad_gateway");
	cr_expect_str_eq(resp_header(r, "x-request-id"), rid);
	resp_free(r);
	/* An id the server would not echo is replaced, not repeated. */
	h[0] = "X-Request-ID: bad\"id<script>";
	r = http_req_to(f.base, "POST", "/api/v1/auth/login", h, "{}", 2);
	expect_envelope(r, 502, "bad_gateway");
	cr_expect_null(strstr(r->body, "script"), "%s", r->body);
	resp_free(r);
	fx_front_stop(&f);
}

Test(front, kore_silent_is_504_in_the_envelope)
{
	struct front	 f;
	struct resp	*r;
	int		 fd, port;

	fd = silent_listener(&port);
	fx_front_start(&f, port, (const char *const[]){
	    "NGINX_PROXY_TIMEOUT_S=2", NULL });
	r = http_req_to(f.base, "GET", "/health", NULL, NULL, 0);
	expect_envelope(r, 504, "gateway_timeout");
	cr_expect(r->seconds < 30, "%.1f s", r->seconds);
	resp_free(r);
	fx_front_stop(&f);
	(void)close(fd);
}
