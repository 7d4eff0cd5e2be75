/*
 * sniff.c -- content-based file type detection for uploads.
 *
 * The extension is never trusted on its own: the bytes decide the type and
 * the name must agree with them.  The ZIP central directory is parsed here
 * from the buffer, with every offset checked, so that a DOCX can be told
 * from any other ZIP without handing hostile bytes to a library.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "sniff.h"
#include "utf8.h"

#define ZIP_LFH_SIG		"PK\003\004"
#define ZIP_CDH_SIG		"PK\001\002"
#define ZIP_EOCD_SIG		"PK\005\006"
#define ZIP64_LOC_SIG		"PK\006\007"
#define ZIP64_EOCD_SIG		"PK\006\006"
#define ZIP_EOCD_LEN		22
#define ZIP_CDH_LEN		46
#define ZIP64_LOC_LEN		20
#define ZIP64_EOCD_LEN		56
#define DOCX_MAIN_PART		"word/document.xml"

static int		 sniff_is_pdf(const unsigned char *, size_t,
			    int);
static int		 sniff_is_text(const unsigned char *, size_t);
static enum sniff_type	 sniff_ext_type(const char *, int *);
static uint16_t		 le16(const unsigned char *);
static uint32_t		 le32(const unsigned char *);
static uint64_t		 le64(const unsigned char *);
static int		 zip_find_cd(const unsigned char *, size_t,
			    uint64_t *, uint64_t *, uint64_t *);

enum sniff_verdict
sniff_detect(const void *buf, size_t len, const char *filename,
    struct sniff_info *info)
{
	enum sniff_type		 ext;
	int			 has_ext;

	memset(info, 0, sizeof(*info));
	ext = sniff_ext_type(filename, &has_ext);

	if (len == 0) {
		info->verdict = SNIFF_EMPTY;
		info->reason = "the file is empty";
		return (info->verdict);
	}

	info->type = sniff_content(buf, len);
	/* A PDF may carry a text-like prefix; a .pdf name settles it. */
	if (info->type != SNIFF_PDF && ext == SNIFF_PDF &&
	    sniff_is_pdf(buf, len, 0))
		info->type = SNIFF_PDF;
	if (info->type == SNIFF_TXT && ext == SNIFF_MD)
		info->type = SNIFF_MD;

	info->file_type = sniff_type_name(info->type);
	info->mime = sniff_type_mime(info->type);

	if (info->type == SNIFF_UNKNOWN) {
		info->verdict = SNIFF_UNSUPPORTED;
		if (len >= 4 && memcmp(buf, ZIP_LFH_SIG, 4) == 0)
			info->reason = "a ZIP archive that is not a DOCX";
		else
			info->reason = "content is not PDF, DOCX or UTF-8 text";
		return (info->verdict);
	}
	if (has_ext && ext == SNIFF_UNKNOWN) {
		info->verdict = SNIFF_BAD_EXTENSION;
		info->reason = "file extension is not one of .pdf, .docx, "
		    ".txt, .md";
		return (info->verdict);
	}
	if (has_ext && ext != info->type) {
		info->verdict = SNIFF_MISMATCH;
		info->reason = "file extension does not match its content";
		return (info->verdict);
	}
	info->verdict = SNIFF_OK;
	info->reason = "ok";
	return (info->verdict);
}

enum sniff_type
sniff_content(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	int			 text;

	if (len == 0)
		return (SNIFF_UNKNOWN);
	if (len >= 4 && memcmp(p, ZIP_LFH_SIG, 4) == 0) {
		if (sniff_zip_has_entry(p, len, DOCX_MAIN_PART))
			return (SNIFF_DOCX);
		return (SNIFF_UNKNOWN);
	}
	text = sniff_is_text(p, len);
	/*
	 * "%PDF-" at offset 0 is a PDF.  Further in, it only counts when the
	 * bytes are not plain text: a note about PDFs is still a note.
	 */
	if (sniff_is_pdf(p, len, 1) || (!text && sniff_is_pdf(p, len, 0)))
		return (SNIFF_PDF);
	if (text)
		return (SNIFF_TXT);
	return (SNIFF_UNKNOWN);
}


int
sniff_zip_has_entry(const void *buf, size_t len, const char *name)
{
	const unsigned char	*p = buf;
	uint64_t		 count, cd_size, cd_off, pos, end, i;
	size_t			 nlen, fnlen, extra, comment;

	if (!zip_find_cd(p, len, &count, &cd_size, &cd_off))
		return (0);
	nlen = strlen(name);
	pos = cd_off;
	end = cd_off + cd_size;
	for (i = 0; i < count && i < SNIFF_ZIP_MAX_ENTRIES; i++) {
		if (pos > end || end - pos < ZIP_CDH_LEN)
			return (0);
		if (memcmp(p + pos, ZIP_CDH_SIG, 4) != 0)
			return (0);
		fnlen = le16(p + pos + 28);
		extra = le16(p + pos + 30);
		comment = le16(p + pos + 32);
		if (end - pos - ZIP_CDH_LEN < fnlen)
			return (0);
		if (fnlen == nlen && memcmp(p + pos + ZIP_CDH_LEN, name,
		    nlen) == 0)
			return (1);
		pos += (uint64_t)ZIP_CDH_LEN + fnlen + extra + comment;
	}
	return (0);
}

const char *
sniff_type_name(enum sniff_type t)
{
	switch (t) {
	case SNIFF_PDF:
		return ("pdf");
	case SNIFF_DOCX:
		return ("docx");
	case SNIFF_TXT:
		return ("txt");
	case SNIFF_MD:
		return ("md");
	default:
		return (NULL);
	}
}

const char *
sniff_type_mime(enum sniff_type t)
{
	switch (t) {
	case SNIFF_PDF:
		return ("application/pdf");
	case SNIFF_DOCX:
		return ("application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document");
	case SNIFF_TXT:
		return ("text/plain; charset=utf-8");
	case SNIFF_MD:
		return ("text/markdown; charset=utf-8");
	default:
		return (NULL);
	}
}

/* "%PDF-" at offset 0 (at_start) or anywhere in the first window. */
static int
sniff_is_pdf(const unsigned char *p, size_t len, int at_start)
{
	size_t	 i, win;

	if (at_start)
		return (len >= 5 && memcmp(p, "%PDF-", 5) == 0);
	win = len < SNIFF_PDF_MAGIC_WINDOW ? len : SNIFF_PDF_MAGIC_WINDOW;
	for (i = 0; i + 5 <= win; i++) {
		if (p[i] == '%' && memcmp(p + i, "%PDF-", 5) == 0)
			return (1);
	}
	return (0);
}

/* Valid UTF-8, optional BOM, no NUL byte anywhere. */
static int
sniff_is_text(const unsigned char *p, size_t len)
{
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	if (memchr(p, '\0', len) != NULL)
		return (0);
	return (utf8_valid((const char *)p, len));
}

/*
 * Type named by the extension of filename's last path component.
 * *has_ext says whether there was an extension at all.
 */
static enum sniff_type
sniff_ext_type(const char *filename, int *has_ext)
{
	const char	*base, *dot, *s;

	*has_ext = 0;
	if (filename == NULL)
		return (SNIFF_UNKNOWN);
	base = filename;
	for (s = filename; *s != '\0'; s++) {
		if (*s == '/' || *s == '\\')
			base = s + 1;
	}
	dot = strrchr(base, '.');
	/* ".profile" has no extension; "name." has an empty one. */
	if (dot == NULL || dot == base)
		return (SNIFF_UNKNOWN);
	*has_ext = 1;
	dot++;
	if (strcasecmp(dot, "pdf") == 0)
		return (SNIFF_PDF);
	if (strcasecmp(dot, "docx") == 0)
		return (SNIFF_DOCX);
	if (strcasecmp(dot, "txt") == 0 || strcasecmp(dot, "text") == 0)
		return (SNIFF_TXT);
	if (strcasecmp(dot, "md") == 0 || strcasecmp(dot, "markdown") == 0)
		return (SNIFF_MD);
	return (SNIFF_UNKNOWN);
}

static uint16_t
le16(const unsigned char *p)
{
	return ((uint16_t)(p[0] | (p[1] << 8)));
}

static uint32_t
le32(const unsigned char *p)
{
	return ((uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

static uint64_t
le64(const unsigned char *p)
{
	return ((uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32));
}

/*
 * Locate the central directory: the last end-of-central-directory record
 * (and its ZIP64 form when the classic fields are saturated).  Returns 1
 * with the entry count, size and offset, all checked to lie inside buf.
 */
static int
zip_find_cd(const unsigned char *p, size_t len, uint64_t *count,
    uint64_t *size, uint64_t *off)
{
	size_t		 pos, lo, z;
	uint64_t	 z64;

	if (len < ZIP_EOCD_LEN)
		return (0);
	lo = len > SNIFF_ZIP_EOCD_SEARCH ? len - SNIFF_ZIP_EOCD_SEARCH : 0;
	for (pos = len - ZIP_EOCD_LEN; ; pos--) {
		if (memcmp(p + pos, ZIP_EOCD_SIG, 4) == 0)
			break;
		if (pos == lo)
			return (0);
	}
	*count = le16(p + pos + 10);
	*size = le32(p + pos + 12);
	*off = le32(p + pos + 16);

	if (*count == 0xffff || *size == 0xffffffff || *off == 0xffffffff) {
		if (pos < ZIP64_LOC_LEN)
			return (0);
		z = pos - ZIP64_LOC_LEN;
		if (memcmp(p + z, ZIP64_LOC_SIG, 4) != 0)
			return (0);
		z64 = le64(p + z + 8);
		if (z64 > len || len - z64 < ZIP64_EOCD_LEN ||
		    memcmp(p + z64, ZIP64_EOCD_SIG, 4) != 0)
			return (0);
		*count = le64(p + z64 + 32);
		*size = le64(p + z64 + 40);
		*off = le64(p + z64 + 48);
	}
	if (*off > len || *size > len - *off)
		return (0);
	return (1);
}

/*
 * An optional text field of a multipart form, trimmed in place: *out is
 * the trimmed string, or NULL when nothing but white space was sent.
 * Returns its length in code points, or -1 when it is not valid UTF-8.
 */
ssize_t
sniff_field(char *s, char **out)
{
	char	*e;
	ssize_t	 cp;

	*out = NULL;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	if (*s == '\0')
		return (0);
	if ((cp = utf8_codepoints(s, strlen(s))) < 0)
		return (-1);
	*out = s;
	return (cp);
}

/*
 * The client's name for an uploaded file: its last path component
 * (browsers on Windows send C:\...), kept as sent in orig when it is valid
 * UTF-8 ("" otherwise), and a safe name: control characters, quotes and
 * semicolons replaced by '_'.  Names over max bytes are refused (both
 * "").
 */
void
sniff_filename(const char *in, size_t max, char *name, size_t nlen,
    char *orig, size_t olen)
{
	const char	*b, *s;
	size_t		 l, o;
	unsigned char	 c;

	for (b = s = in; *s != '\0'; s++)
		if (*s == '/' || *s == '\\')
			b = s + 1;
	l = strlen(b);
	orig[0] = name[0] = '\0';
	if (l == 0 || l > max || l >= olen || !utf8_valid(b, l))
		return;
	memcpy(orig, b, l + 1);
	for (o = 0; o < l && o + 1 < nlen; o++) {
		c = (unsigned char)b[o];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\'' ||
		    c == '`' || c == ';')
			c = '_';
		name[o] = (char)c;
	}
	name[o] = '\0';
}
