/*
 * feature.c: toggle values, loading from the environment, and which
 * routes each toggle gates.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "feature.h"

static const char	*const *envtab;

static const char *
tab_get(const char *name)
{
	size_t		n;
	int		i;

	n = strlen(name);
	for (i = 0; envtab[i] != NULL; i++) {
		if (!strncmp(envtab[i], name, n) && envtab[i][n] == '=')
			return (envtab[i] + n + 1);
	}
	return (NULL);
}

Test(feature, switch_reads_the_usual_spellings)
{
	static const char	*on[] = { "on", "ON", "true", "Yes", "1",
				    "enabled" };
	static const char	*off[] = { "off", "Off", "false", "no", "0",
				    "DISABLED" };
	size_t			 i;
	int			 v;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		v = -1;
		cr_assert(feature_switch(on[i], &v), "%s", on[i]);
		cr_expect_eq(v, 1, "%s", on[i]);
	}
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		v = -1;
		cr_assert(feature_switch(off[i], &v), "%s", off[i]);
		cr_expect_eq(v, 0, "%s", off[i]);
	}
}

Test(feature, switch_refuses_anything_else)
{
	static const char	*bad[] = { "", "of", "onn", "2", "disable",
				    " on", "on ", "maybe" };
	size_t			 i;
	int			 v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		cr_expect_not(feature_switch(bad[i], &v), "'%s'", bad[i]);
		cr_expect_eq(v, -1);
	}
	cr_expect_not(feature_switch(NULL, &v));
}

Test(feature, load_defaults_every_feature_on)
{
	static const char	*const env[] = { NULL };
	const char		*what;
	unsigned int		 set;

	envtab = env;
	cr_assert_eq(feature_load(&set, tab_get, &what), FEATURE_OK);
	cr_expect_eq(set, FEATURE_ALL);
	cr_expect_null(what);
}

Test(feature, load_switches_off_what_the_environment_says)
{
	static const char	*const env[] = { "FEATURE_DOCUMENTS=off",
				    "FEATURE_CHAT=false", "FEATURE_TODOS=on",
				    "FEATURE_WORKFLOWS=", NULL };
	const char		*what;
	unsigned int		 set;

	envtab = env;
	cr_assert_eq(feature_load(&set, tab_get, &what), FEATURE_OK);
	cr_expect_eq(set, FEATURE_ALL & ~FEATURE_BIT(FEATURE_DOCUMENTS) &
	    ~FEATURE_BIT(FEATURE_CHAT));
}

Test(feature, load_names_the_variable_with_a_bad_value)
{
	static const char	*const env[] = { "FEATURE_ANALYTICS=sometimes",
				    NULL };
	const char		*what;
	unsigned int		 set;

	envtab = env;
	cr_assert_eq(feature_load(&set, tab_get, &what), FEATURE_BAD_VALUE);
	cr_expect_str_eq(what, "FEATURE_ANALYTICS");
}

Test(feature, every_variable_is_its_name_upper_cased)
{
	char		want[64];
	size_t		i;
	int		f;

	for (f = 0; f < FEATURE_COUNT; f++) {
		cr_assert_not_null(feature_name(f));
		(void)strcpy(want, "FEATURE_");
		for (i = 0; feature_name(f)[i] != '\0'; i++)
			want[8 + i] = (char)toupper(
			    (unsigned char)feature_name(f)[i]);
		want[8 + i] = '\0';
		cr_expect_str_eq(feature_env(f), want);
	}
	cr_expect_null(feature_name(FEATURE_COUNT));
	cr_expect_null(feature_env(-1));
}

Test(feature, routes_map_to_the_areas_they_belong_to)
{
	static const struct {
		const char	*label;
		unsigned int	 mask;
	} t[] = {
		{ "/api/v1/documents", FEATURE_BIT(FEATURE_DOCUMENTS) },
		{ "/api/v1/documents/{document_id}/analysis",
		    FEATURE_BIT(FEATURE_DOCUMENTS) },
		{ "/api/v1/chat", FEATURE_BIT(FEATURE_CHAT) },
		{ "/api/v1/chat/conversations/{conversation_id}",
		    FEATURE_BIT(FEATURE_CHAT) },
		{ "/api/v1/chat/conversations/{conversation_id}/documents",
		    FEATURE_BIT(FEATURE_CHAT) |
		    FEATURE_BIT(FEATURE_DOCUMENTS) },
		{ "/api/v1/users/{user_id}/todos/{todo_id}/complete",
		    FEATURE_BIT(FEATURE_TODOS) },
		{ "/api/v1/auth/register", FEATURE_BIT(FEATURE_REGISTRATION) },
		{ "/api/v1/auth/phone/verify",
		    FEATURE_BIT(FEATURE_PHONE_VERIFICATION) },
		{ "/api/v1/workflows/{workflow_id}/execute",
		    FEATURE_BIT(FEATURE_WORKFLOWS) },
		{ "/api/v1/analytics/usage", FEATURE_BIT(FEATURE_ANALYTICS) },
		{ "/api/v1/auth/login", 0 },
		{ "/api/v1/users/me", 0 },
		{ "/api/v1/features", 0 },
		{ "/api/v1/health", 0 },
		{ "/health", 0 },
		{ "/documents", 0 },
		{ "/api/v1/", 0 },
		{ "/api/v1/documentsx", 0 },
		{ "unmatched", 0 },
		{ NULL, 0 },
	};
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(feature_route_mask(t[i].label), t[i].mask,
		    "%s: %#x", t[i].label ? t[i].label : "NULL",
		    feature_route_mask(t[i].label));
	}
}
