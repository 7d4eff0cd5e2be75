/*
 * Reading the environment into struct config.  Every variable named in
 * docs/DESIGN.md and docs/API.md is read here and nowhere else.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "feature.h"

static int	cfg_int(const char *(*)(const char *), const char *, int,
		    int, int, int *);
static void	cfg_str(const char *(*)(const char *), const char *,
		    const char *, char *, size_t);
static int	cfg_origins(struct config *, const char *);
static int	config_read(struct config *, const char *(*)(const char *),
		    const char **);
static int	cfg_fail(struct config *, const char *(*)(const char *),
		    const char **, const char *, int, const char *);
static int	cfg_trusted(struct config *, const char *);
static int	cfg_jwt(struct config *, const char *(*)(const char *),
		    const char **);
static int	cfg_add_jwt_key(struct config *, const char *);
static int	cfg_email(struct config *, const char *(*)(const char *),
		    const char **);
static int	cfg_numbers(struct config *, const char *(*)(const char *),
		    const char **);
static int	cfg_int_named(struct config *, const char *(*)(const char *),
		    const char **, const char *, int, int, int, int *);
static int	cfg_upload_bytes(struct config *,
		    const char *(*)(const char *), const char **);
static void	cfg_ai(struct config *, const char *(*)(const char *));
static int	cfg_sms(struct config *, const char *(*)(const char *),
		    const char **);

#define ELENCHUS_VERSION	"0.1.0"

/*
 * Every refusal says the variable and why: the checks that do not word
 * their own message (cfg_fail) get config_err_str's.
 */
int
config_load(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	int	r;

	if ((r = config_read(cfg, env, what)) != CONFIG_OK &&
	    cfg->error[0] == '\0')
		(void)snprintf(cfg->error, sizeof(cfg->error), "%s: %s",
		    *what != NULL ? *what : "configuration",
		    config_err_str(r));
	return (r);
}

static int
config_read(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	const char	*v;
	int		 r;

	memset(cfg, 0, sizeof(*cfg));
	*what = NULL;
	(void)snprintf(cfg->version, sizeof(cfg->version), "%s",
	    ELENCHUS_VERSION);

	cfg_str(env, "ENVIRONMENT", "development", cfg->environment,
	    sizeof(cfg->environment));
	cfg->production = strcasecmp(cfg->environment, "production") == 0;
	cfg_str(env, "HTTP_HOST", "127.0.0.1", cfg->http_host,
	    sizeof(cfg->http_host));
	if ((r = cfg_numbers(cfg, env, what)) != CONFIG_OK)
		return (r);
	cfg_str(env, "DATABASE_URL", "", cfg->database_url,
	    sizeof(cfg->database_url));

	/* The keys' values are secrets: the message names the variable only. */
	if ((r = cfg_jwt(cfg, env, what)) != CONFIG_OK) {
		(void)snprintf(cfg->error, sizeof(cfg->error), "%s %s", *what,
		    config_err_str(r));
		return (r);
	}

	v = env("ALLOWED_ORIGINS");
	if (cfg_origins(cfg, v ? v : "") != CONFIG_OK) {
		return (cfg_fail(cfg, env, what, "ALLOWED_ORIGINS",
		    CONFIG_BAD_LIST, "up to 32 http(s) origins, comma-separated, or *"));
	}
	v = env("TRUSTED_PROXIES");
	if (cfg_trusted(cfg, v ? v : "127.0.0.1,::1") != CONFIG_OK) {
		return (cfg_fail(cfg, env, what, "TRUSTED_PROXIES",
		    CONFIG_BAD_LIST, "up to 32 IP addresses or CIDR ranges, "
		    "comma-separated"));
	}
	cfg_ai(cfg, env);
	if ((r = cfg_sms(cfg, env, what)) != CONFIG_OK ||
	    (r = cfg_email(cfg, env, what)) != CONFIG_OK)
		return (r);

	cfg_str(env, "ADMIN_EMAIL", "", cfg->admin_email,
	    sizeof(cfg->admin_email));
	cfg_str(env, "ADMIN_PASSWORD", "", cfg->admin_password,
	    sizeof(cfg->admin_password));
	cfg_str(env, "EXTRACT_EXE", "build/elenchus-extract",
	    cfg->extract_exe, sizeof(cfg->extract_exe));
	cfg_str(env, "JOB_QUEUE", "default", cfg->job_queue,
	    sizeof(cfg->job_queue));

	if (feature_load(&cfg->features, env, what) != FEATURE_OK)
		return (CONFIG_BAD_LIST);

	return (CONFIG_OK);
}

/* The whole-number settings and the byte limits derived from them. */
static int
cfg_numbers(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	int	 upload_mib, json_kib, r;

#define INT(name, def, lo, hi, field)					\
	do {								\
		if ((r = cfg_int_named(cfg, env, what, name, def, lo,	\
		    hi, &(field))) != CONFIG_OK)			\
			return (r);					\
	} while (0)

	INT("HTTP_PORT", 8080, 1, 65535, cfg->http_port);
	INT("TLS_PORT", 8443, 1, 65535, cfg->tls_port);
	INT("WORKERS", 2, 1, 64, cfg->workers);
	INT("ACCESS_TOKEN_TTL_MIN", 30, 1, 24 * 60, cfg->access_ttl_min);
	INT("REFRESH_TOKEN_TTL_DAYS", 7, 1, 365, cfg->refresh_ttl_days);
	INT("REFRESH_REUSE_GRACE_S", 10, 0, 300, cfg->refresh_reuse_grace_s);
	INT("BCRYPT_COST", 12, 4, 31, cfg->bcrypt_cost);
	INT("LOCKOUT_THRESHOLD", 5, 1, 1000, cfg->lockout_threshold);
	INT("LOCKOUT_WINDOW_MIN", 15, 1, 24 * 60, cfg->lockout_window_min);
	INT("AUTH_RATE_LIMIT_PER_MINUTE", 5, 1, 10000000, cfg->auth_rate_per_min);
	INT("RATE_LIMIT_PER_MINUTE", 60, 1, 100000000, cfg->rate_per_min);
	INT("EXPORT_PER_HOUR", 3, 1, 1000, cfg->export_per_hour);
	INT("MAX_UPLOAD_MB", 20, 1, 1024, upload_mib);
	INT("JSON_BODY_MAX_KB", 1024, 1, 64 * 1024, json_kib);
	INT("DEFAULT_DAILY_TOKEN_QUOTA", 0, 0, INT_MAX,
	    cfg->default_daily_token_quota);
	INT("AI_TIMEOUT_S", 60, 1, 600, cfg->ai_timeout_s);
	INT("EXTRACT_TIMEOUT_S", 30, 1, 600, cfg->extract_timeout_s);
	INT("JOB_TIMEOUT_S", 300, 5, 3600, cfg->job_timeout_s);
	INT("JOB_MAX_ATTEMPTS", 3, 1, 20, cfg->job_max_attempts);
	INT("JOB_THREADS", 2, 1, 64, cfg->job_threads);
	INT("DB_PIPELINES", 2, 1, 64, cfg->db_pipelines);
	INT("LIST_CACHE_MB", 8, 0, 1024, cfg->list_cache_mb);
	INT("BREAKER_THRESHOLD", 5, 1, 1000, cfg->breaker_threshold);
	INT("BREAKER_OPEN_S", 30, 1, 3600, cfg->breaker_open_s);
	/* Second-granular overrides, for tests of expiry (0: use _MIN). */
	INT("ACCESS_TOKEN_TTL_S", 0, 0, 24 * 3600, cfg->access_ttl_s);
	INT("LOCKOUT_WINDOW_S", 0, 0, 24 * 3600, cfg->lockout_window_s);
#undef INT
	if (cfg->access_ttl_s == 0)
		cfg->access_ttl_s = cfg->access_ttl_min * 60;
	if (cfg->lockout_window_s == 0)
		cfg->lockout_window_s = cfg->lockout_window_min * 60;
	cfg->json_body_max = (size_t)json_kib * 1024;
	cfg->max_upload_bytes = (size_t)upload_mib * 1024 * 1024;
	return (cfg_upload_bytes(cfg, env, what));
}

/* cfg_int, with the refusal worded (cfg_fail) when out of range. */
static int
cfg_int_named(struct config *cfg, const char *(*env)(const char *),
    const char **what, const char *name, int def, int lo, int hi, int *out)
{
	char	 range[64];
	int	 r;

	if ((r = cfg_int(env, name, def, lo, hi, out)) == CONFIG_OK)
		return (CONFIG_OK);
	(void)snprintf(range, sizeof(range), "a whole number from %d to %d",
	    lo, hi);
	return (cfg_fail(cfg, env, what, name, r, range));
}

/* MAX_UPLOAD_BYTES, when set, overrides MAX_UPLOAD_MB. */
static int
cfg_upload_bytes(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	const char	*v;
	char		*ep;
	unsigned long	 n;

	if ((v = env("MAX_UPLOAD_BYTES")) == NULL || *v == '\0')
		return (CONFIG_OK);
	errno = 0;
	n = strtoul(v, &ep, 10);
	if (errno != 0 || *ep != '\0' || n < 1024 ||
	    n > 1024UL * 1024 * 1024) {
		return (cfg_fail(cfg, env, what, "MAX_UPLOAD_BYTES",
		    CONFIG_BAD_NUMBER,
		    "a whole number from 1024 to 1073741824"));
	}
	cfg->max_upload_bytes = n;
	return (CONFIG_OK);
}

/* The LLM providers; without AI_PROVIDER, the one configured. */
static void
cfg_ai(struct config *cfg, const char *(*env)(const char *))
{
	cfg_str(env, "AI_PROVIDER", "", cfg->ai_provider,
	    sizeof(cfg->ai_provider));
	cfg_str(env, "OPENAI_API_KEY", "", cfg->openai_api_key,
	    sizeof(cfg->openai_api_key));
	cfg_str(env, "OPENAI_BASE_URL", "https://api.openai.com/v1",
	    cfg->openai_base_url, sizeof(cfg->openai_base_url));
	cfg_str(env, "OPENAI_MODEL", "gpt-4o-mini", cfg->openai_model,
	    sizeof(cfg->openai_model));
	cfg_str(env, "OPENAI_MODELS", "", cfg->openai_models,
	    sizeof(cfg->openai_models));
	cfg_str(env, "GEMINI_API_KEY", "", cfg->gemini_api_key,
	    sizeof(cfg->gemini_api_key));
	cfg_str(env, "GEMINI_BASE_URL",
	    "https://generativelanguage.googleapis.com",
	    cfg->gemini_base_url, sizeof(cfg->gemini_base_url));
	cfg_str(env, "GEMINI_MODEL", "gemini-2.0-flash", cfg->gemini_model,
	    sizeof(cfg->gemini_model));
	cfg_str(env, "GEMINI_MODELS", "", cfg->gemini_models,
	    sizeof(cfg->gemini_models));
	cfg_str(env, "AI_PRICE_TABLE", "", cfg->ai_price_table,
	    sizeof(cfg->ai_price_table));
	if (cfg->ai_provider[0] == '\0') {
		if (config_ai_configured(cfg, "gemini"))
			(void)snprintf(cfg->ai_provider,
			    sizeof(cfg->ai_provider), "gemini");
		else
			(void)snprintf(cfg->ai_provider,
			    sizeof(cfg->ai_provider), "openai");
	}
}

/* The SMS sender.  The console one writes codes to the log: never in
   production. */
static int
cfg_sms(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	cfg_str(env, "SMS_PROVIDER", cfg->production ? "twilio" : "console",
	    cfg->sms_provider, sizeof(cfg->sms_provider));
	if (strcmp(cfg->sms_provider, "console") &&
	    strcmp(cfg->sms_provider, "twilio")) {
		return (cfg_fail(cfg, env, what, "SMS_PROVIDER",
		    CONFIG_BAD_LIST, "console or twilio"));
	}
	if (cfg->production && !strcmp(cfg->sms_provider, "console")) {
		*what = "SMS_PROVIDER";
		return (CONFIG_SMS_CONSOLE);
	}
	cfg_str(env, "TWILIO_ACCOUNT_SID", "", cfg->twilio_account_sid,
	    sizeof(cfg->twilio_account_sid));
	cfg_str(env, "TWILIO_AUTH_TOKEN", "", cfg->twilio_auth_token,
	    sizeof(cfg->twilio_auth_token));
	cfg_str(env, "TWILIO_FROM_NUMBER", "", cfg->twilio_from,
	    sizeof(cfg->twilio_from));
	cfg_str(env, "TWILIO_BASE_URL", "https://api.twilio.com",
	    cfg->twilio_base_url, sizeof(cfg->twilio_base_url));
	return (CONFIG_OK);
}

/*
 * Record a refused variable (never a secret): *what names it, cfg->error
 * says the variable, the value given and what is allowed.  Returns err.
 */
static int
cfg_fail(struct config *cfg, const char *(*env)(const char *),
    const char **what, const char *name, int err, const char *allowed)
{
	const char	*v;

	*what = name;
	if ((v = env(name)) == NULL)
		v = "";
	(void)snprintf(cfg->error, sizeof(cfg->error),
	    "%s=\"%.64s%s\" is not allowed: %s expected", name, v,
	    strlen(v) > 64 ? "..." : "", allowed);
	return (err);
}

const char *
config_err_str(int err)
{
	switch (err) {
	case CONFIG_OK:
		return ("ok");
	case CONFIG_BAD_NUMBER:
		return ("not a number in the allowed range");
	case CONFIG_BAD_LIST:
		return ("invalid value");
	case CONFIG_JWT_MISSING:
		return ("must be set in production");
	case CONFIG_JWT_SHORT:
		return ("must be at least 32 bytes in production");
	case CONFIG_JWT_KEYS:
		return ("must be kid:secret[,kid:secret...] (kid of 1-32 "
		    "[A-Za-z0-9._-], unique, at most 8 keys), without "
		    "JWT_SECRET");
	case CONFIG_JWT_SIGNER:
		return ("names no key of JWT_KEYS");
	case CONFIG_SMS_CONSOLE:
	case CONFIG_EMAIL_CONSOLE:
		return ("console (codes in the log) is refused in production");
	}
	return ("unknown error");
}

void
config_jwt_generated(struct config *cfg, const char *secret)
{
	(void)snprintf(cfg->jwt_secret, sizeof(cfg->jwt_secret), "%s",
	    secret);
	(void)snprintf(cfg->jwt_keys[0].secret, sizeof(cfg->jwt_keys[0].secret),
	    "%s", secret);
}

int
config_ai_configured(const struct config *cfg, const char *provider)
{
	if (!strcmp(provider, "gemini"))
		return (cfg->gemini_api_key[0] != '\0');
	if (!strcmp(provider, "openai")) {
		/* A local OpenAI-compatible server needs no key. */
		return (cfg->openai_api_key[0] != '\0' ||
		    strncmp(cfg->openai_base_url, "https://api.openai.com",
		    22) != 0);
	}
	return (0);
}

int
config_origin_allowed(const struct config *cfg, const char *origin)
{
	int		i;

	if (origin == NULL || *origin == '\0')
		return (0);
	if (cfg->origins_any)
		return (1);
	for (i = 0; i < cfg->n_origins; i++) {
		if (!strcasecmp(cfg->allowed_origins[i], origin))
			return (1);
	}
	return (0);
}

int
config_parse_cidr(const char *s, struct config_cidr *out)
{
	char		buf[64], *slash, *ep;
	long		prefix;
	int		max;

	if (strlen(s) >= sizeof(buf))
		return (CONFIG_BAD_LIST);
	(void)snprintf(buf, sizeof(buf), "%s", s);
	memset(out, 0, sizeof(*out));

	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';

	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return (CONFIG_BAD_LIST);
	}

	out->prefix = max;
	if (slash != NULL) {
		errno = 0;
		prefix = strtol(slash, &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == slash || prefix < 0 ||
		    prefix > max)
			return (CONFIG_BAD_LIST);
		out->prefix = (int)prefix;
	}
	return (CONFIG_OK);
}

static void
cfg_str(const char *(*env)(const char *), const char *name,
    const char *def, char *out, size_t len)
{
	const char	*v;

	v = env(name);
	if (v == NULL || *v == '\0')
		v = def;
	(void)snprintf(out, len, "%s", v);
}

static int
cfg_int(const char *(*env)(const char *), const char *name, int def,
    int lo, int hi, int *out)
{
	const char	*v;
	char		*ep;
	long		n;

	v = env(name);
	if (v == NULL || *v == '\0') {
		*out = def;
		return (CONFIG_OK);
	}
	errno = 0;
	n = strtol(v, &ep, 10);
	if (errno != 0 || *ep != '\0' || n < lo || n > hi)
		return (CONFIG_BAD_NUMBER);
	*out = (int)n;
	return (CONFIG_OK);
}

/* Split a comma-separated list, trimming blanks; call fn on each item. */
static int
cfg_split(const char *list, int (*fn)(struct config *, const char *),
    struct config *cfg)
{
	char		item[256];
	const char	*p, *e;
	size_t		n;

	for (p = list; *p != '\0'; p = (*e == ',') ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		while (p < e && isspace((unsigned char)*p))
			p++;
		n = (size_t)(e - p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof(item))
			return (CONFIG_BAD_LIST);
		memcpy(item, p, n);
		item[n] = '\0';
		if (fn(cfg, item) != CONFIG_OK)
			return (CONFIG_BAD_LIST);
	}
	return (CONFIG_OK);
}

static int
cfg_add_origin(struct config *cfg, const char *item)
{
	if (!strcmp(item, "*")) {
		cfg->origins_any = 1;
		return (CONFIG_OK);
	}
	if (cfg->n_origins >= CONFIG_LIST_MAX)
		return (CONFIG_BAD_LIST);
	if (strncmp(item, "http://", 7) && strncmp(item, "https://", 8))
		return (CONFIG_BAD_LIST);
	(void)snprintf(cfg->allowed_origins[cfg->n_origins++],
	    sizeof(cfg->allowed_origins[0]), "%s", item);
	return (CONFIG_OK);
}

static int
cfg_add_trusted(struct config *cfg, const char *item)
{
	if (cfg->n_trusted >= CONFIG_LIST_MAX)
		return (CONFIG_BAD_LIST);
	return (config_parse_cidr(item, &cfg->trusted[cfg->n_trusted++]));
}

static int
cfg_origins(struct config *cfg, const char *list)
{
	return (cfg_split(list, cfg_add_origin, cfg));
}

static int
cfg_trusted(struct config *cfg, const char *list)
{
	return (cfg_split(list, cfg_add_trusted, cfg));
}

/*
 * The access-token keys.  JWT_KEYS="kid:secret,kid:secret" lists every
 * key that verifies; JWT_SIGNING_KID (default: the first listed) signs.
 * Without JWT_KEYS, JWT_SECRET is the one key, with id "default".  Both
 * at once is refused: during a rotation an old secret left in JWT_SECRET
 * would keep verifying unseen.  Every secret obeys JWT_SECRET's rules.
 */
static int
cfg_jwt(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	const char	*keys, *secret, *signer;
	int		i;

	keys = env("JWT_KEYS");
	secret = env("JWT_SECRET");
	if (keys != NULL && *keys != '\0') {
		*what = "JWT_KEYS";
		if (secret != NULL && *secret != '\0')
			return (CONFIG_JWT_KEYS);
		if (cfg_split(keys, cfg_add_jwt_key, cfg) != CONFIG_OK ||
		    cfg->n_jwt_keys == 0)
			return (CONFIG_JWT_KEYS);
	} else {
		*what = "JWT_SECRET";
		cfg->n_jwt_keys = 1;
		(void)snprintf(cfg->jwt_keys[0].kid, sizeof(cfg->jwt_keys[0].kid),
		    "%s", CONFIG_KID_DEFAULT);
		cfg_str(env, "JWT_SECRET", "", cfg->jwt_keys[0].secret,
		    sizeof(cfg->jwt_keys[0].secret));
		if (cfg->jwt_keys[0].secret[0] == '\0') {
			if (cfg->production)
				return (CONFIG_JWT_MISSING);
			cfg->jwt_secret_generated = 1;
		}
	}
	for (i = 0; i < cfg->n_jwt_keys; i++) {
		if (cfg->production && strlen(cfg->jwt_keys[i].secret) <
		    CONFIG_JWT_MIN_LEN && !cfg->jwt_secret_generated)
			return (CONFIG_JWT_SHORT);
	}

	cfg->jwt_signer = 0;
	if ((signer = env("JWT_SIGNING_KID")) != NULL && *signer != '\0') {
		*what = "JWT_SIGNING_KID";
		for (i = 0; i < cfg->n_jwt_keys; i++) {
			if (!strcmp(cfg->jwt_keys[i].kid, signer))
				break;
		}
		if (i == cfg->n_jwt_keys)
			return (CONFIG_JWT_SIGNER);
		cfg->jwt_signer = i;
	}
	(void)snprintf(cfg->jwt_secret, sizeof(cfg->jwt_secret), "%s",
	    cfg->jwt_keys[cfg->jwt_signer].secret);
	*what = NULL;
	return (CONFIG_OK);
}

/* One "kid:secret" of JWT_KEYS. */
static int
cfg_add_jwt_key(struct config *cfg, const char *item)
{
	struct config_jwt_key	*k;
	const char		*colon, *p;
	size_t			 n;
	int			 i;

	if (cfg->n_jwt_keys >= CONFIG_JWT_KEYS_MAX ||
	    (colon = strchr(item, ':')) == NULL || colon[1] == '\0')
		return (CONFIG_BAD_LIST);
	n = (size_t)(colon - item);
	if (n == 0 || n > CONFIG_KID_MAX)
		return (CONFIG_BAD_LIST);
	for (p = item; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return (CONFIG_BAD_LIST);
	}
	k = &cfg->jwt_keys[cfg->n_jwt_keys];
	memcpy(k->kid, item, n);
	k->kid[n] = '\0';
	for (i = 0; i < cfg->n_jwt_keys; i++) {
		if (!strcmp(cfg->jwt_keys[i].kid, k->kid))
			return (CONFIG_BAD_LIST);
	}
	(void)snprintf(k->secret, sizeof(k->secret), "%s", colon + 1);
	cfg->n_jwt_keys++;
	return (CONFIG_OK);
}

/*
 * Email verification and its sender.  SMTP_FROM is one address (no
 * display name): it goes into the envelope and the From header as is,
 * so nothing that could break a header line is allowed.
 */
static int
cfg_email(struct config *cfg, const char *(*env)(const char *),
    const char **what)
{
	char		mode[16];
	const char	*p;

	cfg_str(env, "EMAIL_VERIFICATION", "off", mode, sizeof(mode));
	*what = "EMAIL_VERIFICATION";
	if (!strcmp(mode, "off"))
		cfg->email_verification = CONFIG_EMAIL_OFF;
	else if (!strcmp(mode, "optional"))
		cfg->email_verification = CONFIG_EMAIL_OPTIONAL;
	else if (!strcmp(mode, "required"))
		cfg->email_verification = CONFIG_EMAIL_REQUIRED;
	else
		return (CONFIG_BAD_LIST);

	/* The console sender writes codes to the log: never in production. */
	cfg_str(env, "EMAIL_PROVIDER", cfg->production ? "smtp" : "console",
	    cfg->email_provider, sizeof(cfg->email_provider));
	*what = "EMAIL_PROVIDER";
	if (strcmp(cfg->email_provider, "console") &&
	    strcmp(cfg->email_provider, "smtp"))
		return (CONFIG_BAD_LIST);
	if (cfg->production && !strcmp(cfg->email_provider, "console"))
		return (CONFIG_EMAIL_CONSOLE);

	cfg_str(env, "SMTP_URL", "", cfg->smtp_url, sizeof(cfg->smtp_url));
	*what = "SMTP_URL";
	if (cfg->smtp_url[0] != '\0' && strncmp(cfg->smtp_url, "smtp://", 7) &&
	    strncmp(cfg->smtp_url, "smtps://", 8))
		return (CONFIG_BAD_LIST);
	cfg_str(env, "SMTP_USERNAME", "", cfg->smtp_username,
	    sizeof(cfg->smtp_username));
	cfg_str(env, "SMTP_PASSWORD", "", cfg->smtp_password,
	    sizeof(cfg->smtp_password));
	cfg_str(env, "SMTP_FROM", "no-reply@localhost", cfg->smtp_from,
	    sizeof(cfg->smtp_from));
	*what = "SMTP_FROM";
	if (strchr(cfg->smtp_from, '@') == NULL)
		return (CONFIG_BAD_LIST);
	for (p = cfg->smtp_from; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
		    *p == ',' || *p == ';' || *p == '"' || *p == 0x7f)
			return (CONFIG_BAD_LIST);
	}
	cfg_str(env, "SMTP_STARTTLS", "required", cfg->smtp_starttls,
	    sizeof(cfg->smtp_starttls));
	*what = "SMTP_STARTTLS";
	if (strcmp(cfg->smtp_starttls, "required") &&
	    strcmp(cfg->smtp_starttls, "try") &&
	    strcmp(cfg->smtp_starttls, "off"))
		return (CONFIG_BAD_LIST);
	*what = NULL;
	return (CONFIG_OK);
}
