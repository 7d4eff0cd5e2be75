/*
 * The extractor's DOCX path: the ZIP read by libzip, word/document.xml
 * walked by libxml2's reader.  The first byte picks a whole archive or
 * the XML part alone (which reaches the walker far more often).
 */
#include <jansson.h>
#include <libxml/parser.h>

#include "extract.h"
#include "extractor.h"
#include "utf8.h"
#include "fuzz.h"

static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 init;
	json_t		*out = NULL, *t;
	char		 err[XT_ERRLEN];
	int		 rc;

	if (!init) {
		xmlSetGenericErrorFunc(NULL, quiet);
		init = 1;
	}
	if (len == 0)
		return (0);
	err[0] = '\0';
	if (data[0] & 1)
		rc = xt_docx(data + 1, len - 1, &out, err);
	else
		rc = xt_docx_xml(data + 1, len - 1, &out, err);
	if (rc == 0) {
		FUZZ_CHECK(out != NULL);
		t = json_object_get(out, "text");
		FUZZ_CHECK(json_is_string(t));
		FUZZ_CHECK(utf8_valid(json_string_value(t),
		    json_string_length(t)));
		json_decref(out);
	} else
		FUZZ_CHECK(out == NULL && err[0] != '\0');
	return (0);
}
