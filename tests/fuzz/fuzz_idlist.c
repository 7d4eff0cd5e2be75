/*
 * Bulk id lists: whatever the JSON body, idlist_get either refuses it
 * with at least one field error and an empty literal, or writes a
 * literal of exactly n lower-case UUIDs that fits its buffer.
 */
#include <ctype.h>

#include "idlist.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		 out[IDLIST_TEXT_MAX];
	struct verr	 v;
	json_t		*obj;
	size_t		 i, l;
	int		 n;

	if (jsonx_parse_object((const char *)data, len, &obj) != JSONX_OK)
		return (0);
	verr_init(&v);
	n = idlist_get(obj, "ids", IDLIST_MAX, &v, out);
	l = strlen(out);
	if (n == 0) {
		FUZZ_CHECK(verr_count(&v) > 0);
		FUZZ_CHECK(l == 0);
	} else {
		FUZZ_CHECK(n > 0 && n <= IDLIST_MAX);
		FUZZ_CHECK(verr_count(&v) == 0);
		FUZZ_CHECK(l == (size_t)n * (UUID_STRLEN + 1) + 1);
		FUZZ_CHECK(out[0] == '{' && out[l - 1] == '}');
		for (i = 0; i < l; i++)
			FUZZ_CHECK(!isupper((unsigned char)out[i]));
	}
	verr_clear(&v);
	json_decref(obj);
	return (0);
}
