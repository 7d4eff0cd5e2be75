/*
 * Workflow inputs (POST /api/v1/workflows/executions): the body's input
 * object checked against a template's input_schema (jschema_check).  The
 * bytes are a request body; its "input" meets a schema shaped like the
 * seeded templates', and its "schema", when present, is used as one too
 * (templates are data, so a schema must not crash the checker either).
 */
#include <jansson.h>

#include "jschema.h"
#include "jsonx.h"
#include "fuzz.h"

static const char schema_text[] =
    "{\"type\": \"object\", \"required\": [\"contract_text\"],"
    " \"properties\": {"
    "  \"contract_text\": {\"type\": \"string\", \"minLength\": 1,"
    "   \"maxLength\": 100000},"
    "  \"party\": {\"type\": \"string\", \"maxLength\": 200},"
    "  \"risk_tolerance\": {\"type\": \"string\","
    "   \"enum\": [\"low\", \"medium\", \"high\"]},"
    "  \"pages\": {\"type\": [\"integer\", \"null\"], \"minimum\": 1,"
    "   \"maximum\": 10},"
    "  \"parties\": {\"type\": \"array\", \"maxItems\": 5, \"items\":"
    "   {\"type\": \"object\", \"required\": [\"name\"], \"properties\":"
    "    {\"name\": {\"type\": \"string\", \"minLength\": 1}}}},"
    "  \"document_ids\": {\"type\": \"array\", \"maxItems\": 20,"
    "   \"items\": {\"type\": \"string\", \"minLength\": 36,"
    "   \"maxLength\": 36}}}}";

static void
check(const json_t *schema, const json_t *value)
{
	struct verr	 v;
	json_t		*errs, *e;
	const char	*f;
	size_t		 i;
	int		 n;

	verr_init(&v);
	n = jschema_check(schema, value, "input", &v);
	errs = verr_take(&v);
	FUZZ_CHECK(n >= 0);
	FUZZ_CHECK(json_array_size(errs) == (size_t)(n > JSCHEMA_MAX_ERRORS ?
	    JSCHEMA_MAX_ERRORS + 1 : n));
	json_array_foreach(errs, i, e) {
		f = json_string_value(json_object_get(e, "field"));
		FUZZ_CHECK(f != NULL && strncmp(f, "input", 5) == 0);
		FUZZ_CHECK(json_is_string(json_object_get(e, "issue")));
	}
	json_decref(errs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static json_t	*schema;
	json_t		*body = NULL, *in, *s;

	if (schema == NULL && (schema = json_loads(schema_text, 0,
	    NULL)) == NULL)
		abort();
	if (jsonx_parse_object((const char *)data, len, &body) != JSONX_OK)
		return (0);
	if ((in = json_object_get(body, "input")) != NULL)
		check(schema, in);
	if ((s = json_object_get(body, "schema")) != NULL)
		check(s, in != NULL ? in : body);
	json_decref(body);
	return (0);
}
