/*
 * Elenchus configuration: every setting comes from the environment,
 * read once at start.  Pure code: no Kore, no database.
 */
#ifndef ELENCHUS_CONFIG_H
#define ELENCHUS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX		1024
#define CONFIG_LIST_MAX		32
#define CONFIG_JWT_MIN_LEN	32
#define CONFIG_JWT_KEYS_MAX	8
#define CONFIG_KID_MAX		32	/* = JWT_KID_MAX */
#define CONFIG_KID_DEFAULT	"default"	/* JWT_SECRET's key id */

/* One access-token key: its id (the token header's kid) and secret. */
struct config_jwt_key {
	char		kid[CONFIG_KID_MAX + 1];
	char		secret[CONFIG_STR_MAX];
};

struct config_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	int		prefix;
};

/* EMAIL_VERIFICATION */
#define CONFIG_EMAIL_OFF	0	/* no codes are sent */
#define CONFIG_EMAIL_OPTIONAL	1	/* codes on request, nothing gated */
#define CONFIG_EMAIL_REQUIRED	2	/* unverified accounts: 403 */

struct config {
	char		environment[32];	/* development|test|production */
	int		production;
	char		http_host[64];
	int		http_port;
	int		tls_port;
	int		workers;
	char		database_url[CONFIG_STR_MAX];
	/*
	 * The key set (JWT_KEYS, or JWT_SECRET as the one key "default"):
	 * every key verifies, jwt_keys[jwt_signer] signs.  jwt_secret is
	 * the signing key's secret (it also keys the verification-code
	 * hashes).
	 */
	struct config_jwt_key jwt_keys[CONFIG_JWT_KEYS_MAX];
	int		n_jwt_keys;
	int		jwt_signer;
	char		jwt_secret[CONFIG_STR_MAX];
	int		jwt_secret_generated;
	int		access_ttl_min;
	int		access_ttl_s;	/* effective: ACCESS_TOKEN_TTL_S or _MIN*60 */
	int		refresh_ttl_days;
	int		refresh_reuse_grace_s;
	int		bcrypt_cost;
	int		lockout_threshold;
	int		lockout_window_min;
	int		lockout_window_s;	/* effective: LOCKOUT_WINDOW_S or _MIN*60 */
	int		auth_rate_per_min;
	int		rate_per_min;
	int		export_per_hour;	/* data exports per user */
	size_t		max_upload_bytes;
	size_t		json_body_max;
	int		default_daily_token_quota;

	char		allowed_origins[CONFIG_LIST_MAX][256];
	int		n_origins;
	int		origins_any;
	struct config_cidr trusted[CONFIG_LIST_MAX];
	int		n_trusted;

	char		ai_provider[16];
	int		ai_timeout_s;
	char		openai_api_key[CONFIG_STR_MAX];
	char		openai_base_url[CONFIG_STR_MAX];
	char		openai_model[128];
	char		openai_models[CONFIG_STR_MAX];
	char		gemini_api_key[CONFIG_STR_MAX];
	char		gemini_base_url[CONFIG_STR_MAX];
	char		gemini_model[128];
	char		gemini_models[CONFIG_STR_MAX];
	char		ai_price_table[CONFIG_STR_MAX];

	char		sms_provider[16];	/* console|twilio */
	char		twilio_account_sid[128];
	char		twilio_auth_token[256];
	char		twilio_from[32];
	char		twilio_base_url[CONFIG_STR_MAX];

	int		email_verification;	/* CONFIG_EMAIL_* */
	char		email_provider[16];	/* console|smtp */
	char		smtp_url[CONFIG_STR_MAX];
	char		smtp_username[256];
	char		smtp_password[256];
	char		smtp_from[256];
	char		smtp_starttls[16];	/* required|try|off */

	char		admin_email[256];
	char		admin_password[256];

	char		extract_exe[CONFIG_STR_MAX];
	int		extract_timeout_s;
	int		job_timeout_s;
	int		job_max_attempts;
	int		job_threads;		/* JOB_THREADS: runner threads */
	int		db_pipelines;		/* DB_PIPELINES: per worker */
	int		list_cache_mb;		/* LIST_CACHE_MB: per worker */
	char		job_queue[64];		/* JOB_QUEUE: queue served */
	unsigned int	features;		/* FEATURE_*: lib/feature.h bits */
	int		breaker_threshold;	/* BREAKER_THRESHOLD failures */
	int		breaker_open_s;		/* BREAKER_OPEN_S */
	char		version[32];
	char		error[256];		/* why config_load refused */
};

enum config_err {
	CONFIG_OK = 0,
	CONFIG_BAD_NUMBER,
	CONFIG_BAD_LIST,
	CONFIG_JWT_MISSING,
	CONFIG_JWT_SHORT,
	CONFIG_JWT_KEYS,	/* JWT_KEYS malformed, or with JWT_SECRET */
	CONFIG_JWT_SIGNER,	/* JWT_SIGNING_KID names no key */
	CONFIG_SMS_CONSOLE,	/* the console SMS sender in production */
	CONFIG_EMAIL_CONSOLE,	/* the console email sender in production */
};

/*
 * Fill cfg from the environment through getenv_fn (getenv in the server,
 * a table in tests).  On error, *what names the variable at fault and
 * cfg->error says it with the value given and what is allowed.
 */
int	config_load(struct config *cfg,
	    const char *(*getenv_fn)(const char *), const char **what);
int	config_parse_cidr(const char *s, struct config_cidr *out);
int	config_origin_allowed(const struct config *cfg, const char *origin);
/* Install secret as the generated development key (JWT_SECRET unset). */
void	config_jwt_generated(struct config *cfg, const char *secret);
int	config_ai_configured(const struct config *cfg, const char *provider);
const char *config_err_str(int err);

#endif
