/*
 * End-to-end test harness: HTTP to the real server (libcurl) and JSON
 * answers (jansson).  What tests share above that (users, the error
 * check, instances of their own) is the fixture: fixture.h.
 *
 * The suite runner (scripts/test.sh) exports E2E_BASE (Kore), E2E_TLS
 * (nginx in front), DATABASE_URL, and the stand-ins' URLs.
 */
#ifndef ELENCHUS_HARNESS_H
#define ELENCHUS_HARNESS_H

#include <sys/types.h>
#include <stddef.h>
#include <jansson.h>

struct resp {
	long		status;
	char		*body;
	size_t		len;
	char		*headers;	/* raw header block,
	    lower-cased names */
	json_t		*json;		/* parsed body or NULL */
	double		seconds;
};

/* CURL_HTTP_VERSION_* for the requests that follow; 0: libcurl's choice. */
extern long	 http_version;
/* Give up on the requests that follow after ms (status 0); 0: 60 s. */
extern long	 http_timeout_ms;

/* Request to E2E_BASE (or to base when given).  hdrs ends with NULL. */
struct resp	*http_req(const char *method, const char *path,
		    const char *const *hdrs, const char *body, size_t len);
struct resp	*http_req_to(const char *base, const char *method,
		    const char *path, const char *const *hdrs,
		    const char *body, size_t len);
struct resp	*http_get(const char *path);
struct resp	*http_json(const char *method, const char *path,
		    const char *token, const char *json);
void		 resp_free(struct resp *);

const char	*resp_header(struct resp *, const char *name);
/* A value by dotted path: "data.items.0.id"; NULL if absent. */
json_t		*jpath(json_t *, const char *path);
const char	*jstr(struct resp *, const char *path);
long long	 jint(struct resp *, const char *path);
const char	*err_code(struct resp *);

const char	*env_or(const char *name, const char *def);
char		*uniq(const char *prefix);	/* a unique string, static */

/* Poll base+path until it answers want; 0 after seconds. */
int		 wait_status(const char *base, const char *path, long want,
		    int seconds);

#endif
