/*
 * Upload checks: content sniffing (PDF magic, the ZIP directory walk
 * behind DOCX, text) and the multipart fields (file name, text fields).
 * The input is "name\0content"; without a NUL it is all content.
 */
#include <strings.h>

#include "sniff.h"
#include "utf8.h"
#include "fuzz.h"

#define NAME_MAX_B	255

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sniff_info	 info;
	const uint8_t		*nul, *body;
	char			*fname, *field, *t;
	char			 name[NAME_MAX_B + 1], orig[NAME_MAX_B * 4 + 1];
	size_t			 blen, i;
	ssize_t			 cp;
	enum sniff_verdict	 v;

	nul = memchr(data, '\0', len);
	fname = fuzz_str(data, nul != NULL ? (size_t)(nul - data) : 0);
	body = nul != NULL ? nul + 1 : data;
	blen = len - (size_t)(body - data);

	v = sniff_detect(body, blen, fname, &info);
	FUZZ_CHECK(v == info.verdict && info.reason != NULL);
	if (v == SNIFF_OK)
		FUZZ_CHECK(info.file_type != NULL && info.mime != NULL);
	if (blen == 0)
		FUZZ_CHECK(v == SNIFF_EMPTY);
	/*
	 * The name only settles two cases: text it calls .md is Markdown,
	 * and "%PDF-" past offset 0 in something it calls .pdf is a PDF.
	 */
	if (blen > 0 && sniff_content(body, blen) != info.type)
		FUZZ_CHECK((info.type == SNIFF_MD &&
		    sniff_content(body, blen) == SNIFF_TXT) ||
		    (info.type == SNIFF_PDF && strlen(fname) > 4 &&
		    strcasecmp(fname + strlen(fname) - 4, ".pdf") == 0));
	(void)sniff_zip_has_entry(body, blen, "word/document.xml");

	sniff_filename(fname, NAME_MAX_B, name, sizeof(name), orig,
	    sizeof(orig));
	FUZZ_CHECK(strlen(name) <= NAME_MAX_B);
	FUZZ_CHECK(utf8_valid(orig, strlen(orig)));
	FUZZ_CHECK(strchr(orig, '/') == NULL && strchr(orig, '\\') == NULL);
	for (i = 0; name[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)name[i] >= 0x20 &&
		    strchr("\"'`;/\\\x7f", name[i]) == NULL);

	field = fuzz_str(body, blen);
	cp = sniff_field(field, &t);
	if (cp > 0) {
		FUZZ_CHECK(t != NULL && utf8_valid(t, strlen(t)));
		FUZZ_CHECK(t[0] != ' ' && t[strlen(t) - 1] != '\n');
	} else if (cp == 0)
		FUZZ_CHECK(t == NULL);
	free(field);
	free(fname);
	return (0);
}
