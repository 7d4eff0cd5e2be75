/*
 * idlist.c: bulk id lists into a PostgreSQL uuid[] literal.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "idlist.h"

#define A	"123e4567-e89b-42d3-a456-426614174000"
#define B	"00000000-0000-4000-8000-000000000001"

static int
run(const char *json, size_t max, char out[IDLIST_TEXT_MAX], json_t **fields)
{
	struct verr	 v;
	json_t		*obj;
	int		 n;

	obj = json_loads(json, 0, NULL);
	cr_assert_not_null(obj, "%s", json);
	verr_init(&v);
	n = idlist_get(obj, "ids", max, &v, out);
	*fields = verr_take(&v);
	json_decref(obj);
	return (n);
}

static const char *
issue(json_t *fields, size_t i, const char *what)
{
	return (json_string_value(json_object_get(json_array_get(fields, i),
	    what)));
}

Test(idlist, writes_ids_as_one_lower_case_array_literal)
{
	char		 out[IDLIST_TEXT_MAX];
	json_t		*f;

	cr_assert_eq(run("{\"ids\": [\"" A "\", \"00000000-0000-4000-8000-"
	    "00000000000A\", \"" A "\"]}", 100, out, &f), 3);
	cr_expect_str_eq(out, "{" A ",00000000-0000-4000-8000-00000000000a,"
	    A "}");
	cr_expect_eq(json_array_size(f), 0);
	json_decref(f);
}

Test(idlist, one_id)
{
	char		 out[IDLIST_TEXT_MAX];
	json_t		*f;

	cr_assert_eq(run("{\"ids\": [\"" B "\"]}", 100, out, &f), 1);
	cr_expect_str_eq(out, "{" B "}");
	json_decref(f);
}

Test(idlist, refuses_missing_wrong_type_and_empty)
{
	static const struct {
		const char	*json;
		const char	*issue;
	} t[] = {
		{ "{}", "missing" },
		{ "{\"ids\": \"" A "\"}", "wrong_type" },
		{ "{\"ids\": null}", "wrong_type" },
		{ "{\"ids\": {}}", "wrong_type" },
		{ "{\"ids\": []}", "too_short" },
	};
	char		 out[IDLIST_TEXT_MAX];
	json_t		*f;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(run(t[i].json, 100, out, &f), 0, "%s", t[i].json);
		cr_expect_eq(json_array_size(f), 1, "%s", t[i].json);
		cr_expect_str_eq(issue(f, 0, "field"), "ids");
		cr_expect_str_eq(issue(f, 0, "issue"), t[i].issue, "%s",
		    t[i].json);
		cr_expect_str_eq(out, "");
		json_decref(f);
	}
}

Test(idlist, names_every_bad_element)
{
	char		 out[IDLIST_TEXT_MAX];
	json_t		*f;

	cr_assert_eq(run("{\"ids\": [1, \"" A "\", \"x\", null, \"{" A
	    "}\", \"" A ",x\"]}", 100, out, &f), 0);
	cr_assert_eq(json_array_size(f), 5);
	cr_expect_str_eq(issue(f, 0, "field"), "ids[0]");
	cr_expect_str_eq(issue(f, 1, "field"), "ids[2]");
	cr_expect_str_eq(issue(f, 2, "field"), "ids[3]");
	cr_expect_str_eq(issue(f, 3, "field"), "ids[4]");
	cr_expect_str_eq(issue(f, 4, "field"), "ids[5]");
	cr_expect_str_eq(issue(f, 0, "issue"), "invalid");
	cr_expect_str_eq(out, "");
	json_decref(f);
}

Test(idlist, bounds_the_count)
{
	char		 json[IDLIST_TEXT_MAX * 2], out[IDLIST_TEXT_MAX];
	json_t		*f;
	size_t		 off, i;

	off = (size_t)snprintf(json, sizeof(json), "{\"ids\": [");
	for (i = 0; i < IDLIST_MAX; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off,
		    "%s\"" A "\"", i ? "," : "");
	(void)snprintf(json + off, sizeof(json) - off, "]}");
	cr_assert_eq(run(json, IDLIST_MAX, out, &f), IDLIST_MAX);
	cr_expect_eq(strlen(out), IDLIST_MAX * (UUID_STRLEN + 1) + 1);
	json_decref(f);

	cr_expect_eq(run(json, 99, out, &f), 0);
	cr_expect_str_eq(issue(f, 0, "issue"), "too_long");
	json_decref(f);
	/* A limit above IDLIST_MAX is IDLIST_MAX: the buffer's bound. */
	(void)snprintf(json + off, sizeof(json) - off, ",\"" A "\"]}");
	cr_expect_eq(run(json, 1000, out, &f), 0);
	cr_expect_str_eq(issue(f, 0, "issue"), "too_long");
	json_decref(f);
}
