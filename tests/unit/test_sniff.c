/*
 * test_sniff.c -- upload type detection by content, extension agreement,
 * UTF-8 validation and the bounded ZIP directory parser.
 *
 * Fixtures come from tests/fixtures/make_fixtures.sh (run here on demand)
 * in $FIXTURES_DIR, default build/fixtures/docs.
 */

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"
#include "utf8.h"

#define FIXTURES_DEFAULT	"build/fixtures/docs"
#define FIXTURES_SCRIPT		"tests/fixtures/make_fixtures.sh"

static char	*fixture(const char *, size_t *);

/* Read a fixture, generating the set first if it is missing. */
static char *
fixture(const char *name, size_t *len)
{
	const char	*dir;
	char		 path[1024], cmd[1200];
	char		*buf;
	FILE		*f;
	long		 n;

	if ((dir = getenv("FIXTURES_DIR")) == NULL)
		dir = FIXTURES_DEFAULT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(cmd, sizeof(cmd), "sh %s %s", FIXTURES_SCRIPT, dir);
		cr_assert_eq(system(cmd), 0, "cannot run %s", cmd);
		f = fopen(path, "rb");
	}
	cr_assert_not_null(f, "missing fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

Test(sniff, pdf_is_recognised_by_its_magic)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("three_pages.pdf", &len);

	cr_assert_eq(sniff_detect(b, len, "lease.pdf", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_PDF);
	cr_assert_str_eq(si.file_type, "pdf");
	cr_assert_str_eq(si.mime, "application/pdf");
	cr_assert_eq(sniff_detect(b, len, "LEASE.PDF", &si), SNIFF_OK);
	free(b);
}

Test(sniff, scan_pdf_is_a_pdf)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("scan.pdf", &len);

	cr_assert_eq(sniff_detect(b, len, "scan.pdf", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_PDF);
	free(b);
}

Test(sniff, pdf_magic_after_a_binary_prefix_is_a_pdf)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("three_pages.pdf", &len);
	char			*p = malloc(len + 100);

	memset(p, 0xff, 100);
	memcpy(p + 100, b, len);
	cr_assert_eq(sniff_detect(p, len + 100, "x.pdf", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_PDF);
	/* Beyond the first SNIFF_PDF_MAGIC_WINDOW bytes it is not. */
	free(p);
	p = malloc(len + SNIFF_PDF_MAGIC_WINDOW + 10);
	memset(p, 0xff, SNIFF_PDF_MAGIC_WINDOW + 10);
	memcpy(p + SNIFF_PDF_MAGIC_WINDOW + 10, b, len);
	cr_assert_eq(sniff_content(p, len + SNIFF_PDF_MAGIC_WINDOW + 10),
	    SNIFF_UNKNOWN);
	free(p);
	free(b);
}

Test(sniff, text_mentioning_pdf_magic_stays_text)
{
	const char		*t = "A PDF starts with %PDF-1.7, see ISO.\n";
	struct sniff_info	 si;

	cr_assert_eq(sniff_detect(t, strlen(t), "note.txt", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_TXT);
}

Test(sniff, docx_is_recognised_from_its_central_directory)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("table.docx", &len);

	cr_assert_eq(sniff_detect(b, len, "Vertrag.docx", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_DOCX);
	cr_assert_str_eq(si.file_type, "docx");
	cr_assert_str_eq(si.mime, "application/vnd.openxmlformats-"
	    "officedocument.wordprocessingml.document");
	cr_assert(sniff_zip_has_entry(b, len, "[Content_Types].xml"));
	cr_assert(!sniff_zip_has_entry(b, len, "word/missing.xml"));
	free(b);
}

Test(sniff, zip_bomb_docx_is_still_a_docx_to_the_sniffer)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("zipbomb_lying.docx", &len);

	/* Sniffing never inflates; the extractor refuses the bomb. */
	cr_assert_eq(sniff_detect(b, len, "bomb.docx", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_DOCX);
	free(b);
}

Test(sniff, utf8_text_is_txt_and_md_by_name)
{
	struct sniff_info	 si;
	size_t			 len, mlen;
	char			*t = fixture("notes.txt", &len);
	char			*m = fixture("readme.md", &mlen);

	cr_assert_eq(sniff_detect(t, len, "notes.txt", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_TXT);
	cr_assert_str_eq(si.mime, "text/plain; charset=utf-8");
	cr_assert_eq(sniff_detect(t, len, "NOTES", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_TXT);
	cr_assert_eq(sniff_detect(t, len, NULL, &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_TXT);
	cr_assert_eq(sniff_detect(m, mlen, "readme.md", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_MD);
	cr_assert_str_eq(si.file_type, "md");
	cr_assert_str_eq(si.mime, "text/markdown; charset=utf-8");
	cr_assert_eq(sniff_detect(m, mlen, "dir.v2/readme.markdown", &si),
	    SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_MD);
	free(t);
	free(m);
}

Test(sniff, pdf_named_docx_is_a_mismatch)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("pdf_named.docx", &len);

	cr_assert_eq(sniff_detect(b, len, "pdf_named.docx", &si),
	    SNIFF_MISMATCH);
	cr_assert_eq(si.type, SNIFF_PDF);
	free(b);
}

Test(sniff, text_named_pdf_is_a_mismatch)
{
	struct sniff_info	 si;

	cr_assert_eq(sniff_detect("hello", 5, "hello.pdf", &si),
	    SNIFF_MISMATCH);
	cr_assert_eq(sniff_detect("hello", 5, "hello.docx", &si),
	    SNIFF_MISMATCH);
}

Test(sniff, zip_that_is_not_a_docx_is_unsupported)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("plain_zip.docx", &len);

	cr_assert_eq(sniff_detect(b, len, "plain_zip.docx", &si),
	    SNIFF_UNSUPPORTED);
	cr_assert_eq(si.type, SNIFF_UNKNOWN);
	cr_assert_null(si.file_type);
	cr_assert_not_null(strstr(si.reason, "ZIP"));
	free(b);
}

Test(sniff, nul_bytes_named_txt_are_unsupported)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("nul.txt", &len);

	cr_assert_eq(sniff_detect(b, len, "nul.txt", &si), SNIFF_UNSUPPORTED);
	free(b);
}

Test(sniff, latin1_text_is_unsupported)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("latin1.txt", &len);

	cr_assert_eq(sniff_detect(b, len, "latin1.txt", &si),
	    SNIFF_UNSUPPORTED);
	free(b);
}

Test(sniff, corrupt_pdf_still_sniffs_as_pdf)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("corrupt.pdf", &len);

	cr_assert_eq(sniff_detect(b, len, "corrupt.pdf", &si), SNIFF_OK);
	cr_assert_eq(si.type, SNIFF_PDF);
	free(b);
}

Test(sniff, empty_file_is_reported_as_empty)
{
	struct sniff_info	 si;

	cr_assert_eq(sniff_detect("", 0, "empty.txt", &si), SNIFF_EMPTY);
	cr_assert_eq(si.type, SNIFF_UNKNOWN);
}

Test(sniff, unaccepted_extension_is_refused)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("three_pages.pdf", &len);

	cr_assert_eq(sniff_detect(b, len, "lease.exe", &si),
	    SNIFF_BAD_EXTENSION);
	cr_assert_eq(sniff_detect("a,b\n", 4, "table.csv", &si),
	    SNIFF_BAD_EXTENSION);
	/* A leading dot is a hidden file, not an extension. */
	cr_assert_eq(sniff_detect("text", 4, ".notes", &si), SNIFF_OK);
	free(b);
}

Test(sniff, utf8_bom_is_allowed_and_other_boms_are_not)
{
	cr_assert_eq(sniff_content("\xef\xbb\xbfhi", 5), SNIFF_TXT);
	/* UTF-16 carries NUL bytes. */
	cr_assert_eq(sniff_content("\xff\xfeh\0i\0", 6), SNIFF_UNKNOWN);
}

Test(sniff, utf8_validation_rejects_malformed_sequences)
{
	cr_assert(utf8_valid("", 0));
	cr_assert(utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	cr_assert(utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	cr_assert(!utf8_valid("\xc0\xaf", 2));		/* overlong */
	cr_assert(!utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
	cr_assert(!utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	cr_assert(!utf8_valid("\xf4\x90\x80\x80", 4));	/* > 10FFFF */
	cr_assert(!utf8_valid("\xc3", 1));		/* truncated */
	cr_assert(!utf8_valid("\x80", 1));		/* stray */
	cr_assert(!utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

Test(sniff, truncated_docx_is_not_a_docx)
{
	struct sniff_info	 si;
	size_t			 len;
	char			*b = fixture("table.docx", &len);

	/* Without its central directory a ZIP cannot be told a DOCX. */
	cr_assert_eq(sniff_detect(b, len / 2, "t.docx", &si),
	    SNIFF_UNSUPPORTED);
	free(b);
}

Test(sniff, hostile_zip_directory_offsets_are_bounded)
{
	unsigned char	 z[64];
	size_t		 i, len;
	char		*b, *p;

	/* Local header, then an EOCD whose directory lies beyond the end. */
	memset(z, 0, sizeof(z));
	memcpy(z, "PK\003\004", 4);
	memcpy(z + 42, "PK\005\006", 4);
	z[42 + 10] = 0xff;		/* entries */
	z[42 + 11] = 0xff;
	z[42 + 12] = 0x10;		/* size */
	z[42 + 16] = 0xf0;		/* offset */
	z[42 + 17] = 0xff;
	cr_assert(!sniff_zip_has_entry(z, sizeof(z), "word/document.xml"));
	/*
	 * Every truncation of a real DOCX, each in a buffer of exactly its
	 * size so that AddressSanitizer sees any overread.
	 */
	b = fixture("table.docx", &len);
	for (i = 1; i < len; i++) {
		p = malloc(i);
		memcpy(p, b, i);
		cr_assert_neq(sniff_content(p, i), SNIFF_DOCX);
		free(p);
	}
	free(b);
	/* A directory entry whose name runs past the directory. */
	memset(z, 0, sizeof(z));
	memcpy(z, "PK\003\004", 4);
	memcpy(z + 4, "PK\001\002", 4);
	z[4 + 28] = 200;		/* name length */
	memcpy(z + 42, "PK\005\006", 4);
	z[42 + 10] = 1;
	z[42 + 12] = 38;		/* size */
	z[42 + 16] = 4;			/* offset */
	cr_assert(!sniff_zip_has_entry(z, sizeof(z), "word/document.xml"));
}

Test(upload_fields, file_name_is_its_last_component_made_safe)
{
	char	name[256], orig[1021];

	sniff_filename("C:\\Users\\a\\brief.pdf", 255, name, sizeof(name),
	    orig, sizeof(orig));
	cr_assert_str_eq(name, "brief.pdf");
	cr_assert_str_eq(orig, "brief.pdf");
	sniff_filename("../x/it's \"q\";\x01.txt", 255, name, sizeof(name),
	    orig, sizeof(orig));
	cr_assert_str_eq(name, "it_s _q__\x5f.txt");
	cr_assert_str_eq(orig, "it's \"q\";\x01.txt");
	/* Not UTF-8, empty after the last slash, or too long: refused. */
	sniff_filename("caf\xe9.txt", 255, name, sizeof(name), orig,
	    sizeof(orig));
	cr_assert_str_eq(orig, "");
	cr_assert_str_eq(name, "");
	sniff_filename("dir/", 255, name, sizeof(name), orig, sizeof(orig));
	cr_assert_str_eq(name, "");
	sniff_filename("abcdef", 5, name, sizeof(name), orig, sizeof(orig));
	cr_assert_str_eq(name, "");
}

Test(upload_fields, text_fields_are_trimmed_and_counted)
{
	char	a[] = " \t\r\n caf\xc3\xa9 \n", b[] = " \r\n\t", c[] = "x\xff";
	char	*t;

	cr_assert_eq(sniff_field(a, &t), 4);
	cr_assert_str_eq(t, "caf\xc3\xa9");
	cr_assert_eq(sniff_field(b, &t), 0);
	cr_assert_null(t);
	cr_assert_eq(sniff_field(c, &t), -1);
	cr_assert_null(t);
}
