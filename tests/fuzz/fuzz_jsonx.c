/* Bounded JSON bodies: jsonx_parse_object and the typed getters. */
#include <jansson.h>

#include "jsonx.h"
#include "utf8.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const allowed[] = { "a", "b", NULL };
	struct verr	 v;
	json_t		*obj = NULL, *sub;
	const char	*s;
	int64_t		 i;
	int		 b, present, rc;

	(void)jsonx_depth_ok((const char *)data, len, JSONX_MAX_DEPTH);
	rc = jsonx_parse_object((const char *)data, len, &obj);
	FUZZ_CHECK(jsonx_err_message(rc) != NULL);
	if (rc != JSONX_OK) {
		FUZZ_CHECK(obj == NULL);
		return (0);
	}
	FUZZ_CHECK(json_is_object(obj));
	verr_init(&v);
	if (jsonx_get_str(obj, "title", JF_NOTBLANK, 1, 200, &v, &s) &&
	    s != NULL) {
		FUZZ_CHECK(utf8_valid(s, strlen(s)));
		FUZZ_CHECK(jsonx_codepoints(s) <= 200);
	}
	(void)jsonx_get_str(obj, "d", JF_NULLABLE, 0, 10, &v, &s);
	(void)jsonx_get_bool(obj, "done", 0, &v, &b, &present);
	if (jsonx_get_int(obj, "n", JF_REQUIRED, -5, 5, &v, &i, &present) &&
	    present)
		FUZZ_CHECK(i >= -5 && i <= 5);
	(void)jsonx_get_enum(obj, "e", 0, allowed, &v, &s);
	(void)jsonx_get_object(obj, "o", JF_NULLABLE, &v, &sub);
	(void)verr_count(&v);
	verr_clear(&v);
	json_decref(obj);
	return (0);
}
