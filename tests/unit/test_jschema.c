/*
 * The JSON Schema subset of workflow inputs (src/lib/jschema.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "jschema.h"

static const char schema_text[] =
    "{\"type\": \"object\", \"required\": [\"question\", \"audience\"],"
    " \"properties\": {"
    "  \"question\": {\"type\": \"string\", \"minLength\": 5,"
    "   \"maxLength\": 20},"
    "  \"audience\": {\"type\": \"string\", \"enum\": [\"client\", \"court\"]},"
    "  \"pages\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10},"
    "  \"ids\": {\"type\": \"array\", \"maxItems\": 2,"
    "   \"items\": {\"type\": \"string\", \"minLength\": 2}},"
    "  \"party\": {\"type\": \"object\", \"required\": [\"name\"],"
    "   \"properties\": {\"name\": {\"type\": \"string\"}}}}}";

static json_t *
js(const char *s)
{
	json_t	*j;

	j = json_loads(s, 0, NULL);
	cr_assert_not_null(j, "%s", s);
	return (j);
}

/* The issue reported for field, or NULL. */
static const char *
issue(json_t *errs, const char *field)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(errs, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "field")),
		    field) == 0)
			return (json_string_value(json_object_get(e,
			    "issue")));
	}
	return (NULL);
}

static json_t *
check(const char *value, int *n)
{
	struct verr	 v;
	json_t		*s, *val, *errs;

	s = js(schema_text);
	val = js(value);
	verr_init(&v);
	*n = jschema_check(s, val, "input", &v);
	errs = verr_take(&v);
	json_decref(s);
	json_decref(val);
	return (errs);
}

Test(jschema, valid_input_has_no_violation)
{
	json_t	*e;
	int	 n;

	e = check("{\"question\": \"May we end it?\", \"audience\": "
	    "\"court\", \"pages\": 3, \"ids\": [\"ab\"], \"party\": "
	    "{\"name\": \"ACME\"}, \"extra\": true}", &n);
	cr_expect_eq(n, 0);
	cr_expect_eq(json_array_size(e), 0);
	json_decref(e);
}

Test(jschema, every_violation_is_listed_with_its_path)
{
	json_t	*e;
	int	 n;

	e = check("{\"question\": \"why\", \"pages\": 11, \"ids\": [\"ok\", "
	    "\"x\"], \"party\": {}}", &n);
	cr_expect_eq(n, 5, "%d", n);
	cr_expect_str_eq(issue(e, "input.audience"), "missing");
	cr_expect_str_eq(issue(e, "input.question"), "too_short");
	cr_expect_str_eq(issue(e, "input.pages"), "out_of_range");
	cr_expect_str_eq(issue(e, "input.ids[1]"), "too_short");
	cr_expect_str_eq(issue(e, "input.party.name"), "missing");
	json_decref(e);
}

Test(jschema, types_enums_and_lengths)
{
	json_t	*e;
	int	 n;

	e = check("{\"question\": 42, \"audience\": \"jury\", \"pages\": 2.5, "
	    "\"ids\": [\"aa\", \"bb\", \"cc\"], \"party\": \"ACME\"}", &n);
	cr_expect_str_eq(issue(e, "input.question"), "wrong_type");
	cr_expect_str_eq(issue(e, "input.audience"), "invalid_choice");
	cr_expect_str_eq(issue(e, "input.pages"), "wrong_type");
	cr_expect_str_eq(issue(e, "input.ids"), "too_long");
	cr_expect_str_eq(issue(e, "input.party"), "wrong_type");
	cr_expect_eq(n, 5);
	json_decref(e);
	e = check("{\"question\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\", \"audience\": \"client\"}", &n);
	cr_expect_eq(n, 0, "lengths count code points, not bytes");
	json_decref(e);
	e = check("[1]", &n);
	cr_expect_str_eq(issue(e, "input"), "wrong_type");
	json_decref(e);
}

Test(jschema, optional_null_is_not_given_but_required_null_is_missing)
{
	json_t	*e;
	int	 n;

	e = check("{\"question\": null, \"audience\": \"client\", "
	    "\"pages\": null}", &n);
	cr_expect_eq(n, 1);
	cr_expect_str_eq(issue(e, "input.question"), "missing");
	json_decref(e);
}

Test(jschema, deep_values_are_bounded)
{
	struct verr	 v;
	json_t		*s, *val, *errs;
	char		 sch[8192], doc[8192];
	size_t		 o = 0, d = 0;
	int		 i, n;

	for (i = 0; i < 40; i++) {
		o += (size_t)snprintf(sch + o, sizeof(sch) - o,
		    "{\"type\": \"array\", \"items\": ");
		d += (size_t)snprintf(doc + d, sizeof(doc) - d, "[");
	}
	o += (size_t)snprintf(sch + o, sizeof(sch) - o, "{}");
	d += (size_t)snprintf(doc + d, sizeof(doc) - d, "1");
	for (i = 0; i < 40; i++) {
		o += (size_t)snprintf(sch + o, sizeof(sch) - o, "}");
		d += (size_t)snprintf(doc + d, sizeof(doc) - d, "]");
	}
	s = js(sch);
	val = js(doc);
	verr_init(&v);
	n = jschema_check(s, val, "input", &v);
	errs = verr_take(&v);
	cr_expect_eq(n, 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
	    errs, 0), "issue")), "too_deep");
	json_decref(errs);
	json_decref(s);
	json_decref(val);
}
