/*
 * End-to-end harness: see harness.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define RESP_MAX	(64 * 1024 * 1024)

static size_t	on_body(char *, size_t, size_t, void *);
static size_t	on_header(char *, size_t, size_t, void *);

struct sink {
	char		*buf;
	size_t		len;
};

const char *
env_or(const char *name, const char *def)
{
	const char	*v;

	v = getenv(name);
	return (v != NULL && *v != '\0' ? v : def);
}

char *
uniq(const char *prefix)
{
	static char	buf[8][128];
	static int	n;
	struct timespec	ts;
	char		*p;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	p = buf[n++ % 8];
	(void)snprintf(p, sizeof(buf[0]), "%s%ld%09ld%d", prefix,
	    (long)ts.tv_sec, ts.tv_nsec, (int)getpid());
	return (p);
}

struct resp *
http_req(const char *method, const char *path, const char *const *hdrs,
    const char *body, size_t len)
{
	return (http_req_to(env_or("E2E_BASE", "http://127.0.0.1:8080"),
	    method, path, hdrs, body, len));
}

long	http_version;
long	http_timeout_ms;

struct resp *
http_req_to(const char *base, const char *method, const char *path,
    const char *const *hdrs, const char *body, size_t len)
{
	CURL			*c;
	struct curl_slist	*sl;
	struct sink		b, h;
	struct resp		*r;
	char			*url;
	size_t			i, n;

	/* Long enough for any path a test sends (the front's 414). */
	n = strlen(base) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL)
		return (NULL);
	(void)snprintf(url, n, "%s%s", base, path);
	memset(&b, 0, sizeof(b));
	memset(&h, 0, sizeof(h));
	sl = NULL;
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		sl = curl_slist_append(sl, hdrs[i]);
	/* Don't let curl send Expect: 100-continue and wait on it. */
	sl = curl_slist_append(sl, "Expect:");

	c = curl_easy_init();
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		(void)curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	if (body != NULL) {
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    http_timeout_ms > 0 ? http_timeout_ms : 60000L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (http_version != 0)
		(void)curl_easy_setopt(c, CURLOPT_HTTP_VERSION, http_version);

	r = calloc(1, sizeof(*r));
	if (curl_easy_perform(c) == CURLE_OK) {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
		    &r->status);
	} else {
		r->status = 0;
	}
	(void)curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
	curl_easy_cleanup(c);
	curl_slist_free_all(sl);
	free(url);

	r->body = b.buf ? b.buf : strdup("");
	r->len = b.len;
	r->headers = h.buf ? h.buf : strdup("");
	r->json = json_loadb(r->body, r->len, 0, NULL);
	return (r);
}

struct resp *
http_get(const char *path)
{
	return (http_req("GET", path, NULL, NULL, 0));
}

struct resp *
http_json(const char *method, const char *path, const char *token,
    const char *json)
{
	const char	*hdrs[3];
	char		auth[4096];
	int		n;

	n = 0;
	hdrs[n++] = "Content-Type: application/json";
	if (token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    token);
		hdrs[n++] = auth;
	}
	hdrs[n] = NULL;
	return (http_req(method, path, hdrs, json,
	    json ? strlen(json) : 0));
}

void
resp_free(struct resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	free(r);
}

const char *
resp_header(struct resp *r, const char *name)
{
	static char	val[8][1024];
	static int	slot;
	char		*line, *p, *e;
	size_t		n, vl;

	n = strlen(name);
	for (line = r->headers; *line != '\0'; line = e + 1) {
		if ((e = strchr(line, '\n')) == NULL)
			break;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			p = line + n + 1;
			while (*p == ' ')
				p++;
			vl = (size_t)(e - p);
			while (vl > 0 && (p[vl - 1] == '\r' ||
			    p[vl - 1] == ' '))
				vl--;
			if (vl >= sizeof(val[0]))
				vl = sizeof(val[0]) - 1;
			slot = (slot + 1) % 8;
			memcpy(val[slot], p, vl);
			val[slot][vl] = '\0';
			return (val[slot]);
		}
	}
	return (NULL);
}

json_t *
jpath(json_t *j, const char *path)
{
	char		key[256], *ep;
	const char	*p, *dot;
	size_t		n;
	long		idx;

	for (p = path; j != NULL && *p != '\0'; p = *dot ? dot + 1 : dot) {
		dot = strchr(p, '.');
		if (dot == NULL)
			dot = p + strlen(p);
		n = (size_t)(dot - p);
		if (n >= sizeof(key))
			return (NULL);
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_array(j)) {
			idx = strtol(key, &ep, 10);
			if (*ep != '\0')
				return (NULL);
			j = json_array_get(j, (size_t)idx);
		} else {
			j = json_object_get(j, key);
		}
	}
	return (j);
}

const char *
jstr(struct resp *r, const char *path)
{
	return (json_string_value(jpath(r->json, path)));
}

long long
jint(struct resp *r, const char *path)
{
	json_t	*j;

	j = jpath(r->json, path);
	return (json_is_integer(j) ? json_integer_value(j) : -1);
}

const char *
err_code(struct resp *r)
{
	return (jstr(r, "error.code"));
}

int
wait_status(const char *base, const char *path, long want, int seconds)
{
	struct resp	*r;
	int		i;
	long		st;

	for (i = 0; i < seconds * 10; i++) {
		r = http_req_to(base, "GET", path, NULL, NULL, 0);
		st = r->status;
		resp_free(r);
		if (st == want)
			return (1);
		(void)usleep(100000);
	}
	return (0);
}

static size_t
sink_add(struct sink *s, const char *p, size_t n)
{
	char	*nb;

	if (s->len + n > RESP_MAX)
		return (0);
	if ((nb = realloc(s->buf, s->len + n + 1)) == NULL)
		return (0);
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return (n);
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	return (sink_add(arg, p, sz * nm));
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink	*s = arg;

	/* Keep only the last response's headers (after 100 Continue). */
	if (sz * nm > 5 && !strncmp(p, "HTTP/", 5))
		s->len = 0;
	return (sink_add(s, p, sz * nm));
}

/*
 * Criterion 2.4.1's timeout watchdog sometimes leaves one 48-byte entry
 * behind when tests of a suite end close together; LeakSanitizer then
 * fails a suite whose tests all passed.  Suppress leaks allocated inside
 * libcriterion only; ours are still reported.
 */
const char	*__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return ("leak:libcriterion.so\n");
}
