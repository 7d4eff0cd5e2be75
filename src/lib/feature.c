/*
 * Feature toggles: their names, their variables, and which routes each
 * one gates.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "feature.h"

#define FEATURE_API		"/api/v1/"
#define FEATURE_SEG_MAX		8
#define FEATURE_SEG_LEN		64

static const struct {
	const char	*name;
	const char	*env;
} features[FEATURE_COUNT] = {
	[FEATURE_REGISTRATION] = { "registration", "FEATURE_REGISTRATION" },
	[FEATURE_PHONE_VERIFICATION] = { "phone_verification",
	    "FEATURE_PHONE_VERIFICATION" },
	[FEATURE_TODOS] = { "todos", "FEATURE_TODOS" },
	[FEATURE_CHAT] = { "chat", "FEATURE_CHAT" },
	[FEATURE_DOCUMENTS] = { "documents", "FEATURE_DOCUMENTS" },
	[FEATURE_WORKFLOWS] = { "workflows", "FEATURE_WORKFLOWS" },
	[FEATURE_ANALYTICS] = { "analytics", "FEATURE_ANALYTICS" },
};

static int	feature_segments(const char *,
		    char [FEATURE_SEG_MAX][FEATURE_SEG_LEN]);

const char *
feature_name(int f)
{
	if (f < 0 || f >= FEATURE_COUNT)
		return (NULL);
	return (features[f].name);
}

const char *
feature_env(int f)
{
	if (f < 0 || f >= FEATURE_COUNT)
		return (NULL);
	return (features[f].env);
}

int
feature_switch(const char *v, int *on)
{
	static const char	*yes[] = { "on", "true", "yes", "1", "enabled" };
	static const char	*no[] = { "off", "false", "no", "0", "disabled" };
	size_t			 i;

	if (v == NULL)
		return (0);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i])) {
			*on = 1;
			return (1);
		}
		if (!strcasecmp(v, no[i])) {
			*on = 0;
			return (1);
		}
	}
	return (0);
}

int
feature_load(unsigned int *enabled, const char *(*env)(const char *),
    const char **what)
{
	const char	*v;
	int		 f, on;

	*enabled = FEATURE_ALL;
	*what = NULL;
	for (f = 0; f < FEATURE_COUNT; f++) {
		v = env(features[f].env);
		if (v == NULL || *v == '\0')
			continue;
		if (!feature_switch(v, &on)) {
			*what = features[f].env;
			return (FEATURE_BAD_VALUE);
		}
		if (!on)
			*enabled &= ~FEATURE_BIT(f);
	}
	return (FEATURE_OK);
}

unsigned int
feature_route_mask(const char *label)
{
	char		seg[FEATURE_SEG_MAX][FEATURE_SEG_LEN];
	unsigned int	mask;
	int		i, n;

	if (label == NULL || strncmp(label, FEATURE_API,
	    sizeof(FEATURE_API) - 1) != 0)
		return (0);
	n = feature_segments(label + sizeof(FEATURE_API) - 1, seg);
	if (n == 0)
		return (0);

	mask = 0;
	if (!strcmp(seg[0], "auth") && n >= 2) {
		if (!strcmp(seg[1], "register"))
			mask |= FEATURE_BIT(FEATURE_REGISTRATION);
		if (!strcmp(seg[1], "phone"))
			mask |= FEATURE_BIT(FEATURE_PHONE_VERIFICATION);
	}
	if (!strcmp(seg[0], "chat"))
		mask |= FEATURE_BIT(FEATURE_CHAT);
	if (!strcmp(seg[0], "workflows"))
		mask |= FEATURE_BIT(FEATURE_WORKFLOWS);
	if (!strcmp(seg[0], "analytics"))
		mask |= FEATURE_BIT(FEATURE_ANALYTICS);
	/* A template segment ("{document_id}") never names an area. */
	for (i = 0; i < n; i++) {
		if (!strcmp(seg[i], "documents"))
			mask |= FEATURE_BIT(FEATURE_DOCUMENTS);
		if (!strcmp(seg[i], "todos"))
			mask |= FEATURE_BIT(FEATURE_TODOS);
	}
	return (mask);
}

/*
 * Split p at '/' into at most FEATURE_SEG_MAX segments; a segment too
 * long for the buffer is cut (no area name is that long).  Returns the
 * number of segments.
 */
static int
feature_segments(const char *p, char seg[FEATURE_SEG_MAX][FEATURE_SEG_LEN])
{
	size_t		len;
	int		n;
	const char	*e;

	n = 0;
	while (*p != '\0' && n < FEATURE_SEG_MAX) {
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len >= FEATURE_SEG_LEN)
			len = FEATURE_SEG_LEN - 1;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p = *e == '/' ? e + 1 : e;
	}
	return (n);
}
