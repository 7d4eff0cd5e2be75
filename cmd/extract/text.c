/*
 * text.c -- plain text and Markdown: checked, cleaned, passed through.
 */

#include <stdio.h>
#include <stdlib.h>

#include "extract.h"
#include "utf8.h"
#include "extractor.h"
#include "sniff.h"

int
xt_text(const void *data, size_t len, const char *file_type, json_t **out,
    char *err)
{
	char	*text;
	size_t	 tlen, keep;
	json_t	*obj;

	*out = NULL;
	if (!utf8_valid(data, len)) {
		snprintf(err, XT_ERRLEN, "text is not valid UTF-8");
		return (-1);
	}
	if ((text = extract_text_normalise(data, len, &tlen)) == NULL) {
		snprintf(err, XT_ERRLEN, "out of memory");
		return (-1);
	}
	keep = utf8_clip(text, tlen, EXTRACT_MAX_TEXT);
	if ((obj = extract_json_new(file_type)) == NULL ||
	    extract_json_set_text(obj, text, keep) == -1 ||
	    (keep < tlen &&
	    extract_json_warn(obj, EXTRACT_WARN_TRUNCATED) == -1)) {
		json_decref(obj);
		free(text);
		snprintf(err, XT_ERRLEN, "out of memory");
		return (-1);
	}
	free(text);
	*out = obj;
	return (0);
}
