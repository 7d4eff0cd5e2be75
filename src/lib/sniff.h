/*
 * sniff.h -- decide an uploaded file's type by its content, and check the
 * name's extension against it.
 */

#ifndef ELENCHUS_SNIFF_H
#define ELENCHUS_SNIFF_H

#include <sys/types.h>
#include <stddef.h>

/* Where "%PDF-" may appear, as readers such as Acrobat accept. */
#define SNIFF_PDF_MAGIC_WINDOW	1024
/* End-of-central-directory record: 22 bytes plus a comment of <= 65535. */
#define SNIFF_ZIP_EOCD_SEARCH	(22 + 65535)
/* Central directory entries looked at before giving up. */
#define SNIFF_ZIP_MAX_ENTRIES	4096

enum sniff_type {
	SNIFF_UNKNOWN = 0,
	SNIFF_PDF,
	SNIFF_DOCX,
	SNIFF_TXT,
	SNIFF_MD
};

enum sniff_verdict {
	SNIFF_OK = 0,		/* supported, content and name agree */
	SNIFF_EMPTY,		/* zero bytes */
	SNIFF_UNSUPPORTED,	/* content is none of the supported types */
	SNIFF_MISMATCH,		/* supported content, extension says other */
	SNIFF_BAD_EXTENSION	/* supported content, extension not accepted */
};

struct sniff_info {
	enum sniff_type		 type;		/* by content */
	enum sniff_verdict	 verdict;
	const char		*file_type;	/* pdf, docx, txt, md or NULL */
	const char		*mime;		/* NULL if unknown */
	const char		*reason;	/* static, human-readable */
};

/*
 * Classify buf[0..len) and compare with filename's extension (filename may
 * be NULL or have no extension: then the content alone decides, and text is
 * "txt").  Always fills *info; returns info->verdict.  Every verdict other
 * than SNIFF_OK is meant to be answered with 415 (SNIFF_EMPTY with 400).
 * All strings in *info are static.
 */
enum sniff_verdict	 sniff_detect(const void *buf, size_t len,
			    const char *filename, struct sniff_info *info);

/* Content type alone (no name), for callers that only need that. */
enum sniff_type		 sniff_content(const void *buf, size_t len);

/* 1 if buf is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */

/* 1 if the buffer is a ZIP whose central directory names name. */
int			 sniff_zip_has_entry(const void *buf, size_t len,
			    const char *name);

const char		*sniff_type_name(enum sniff_type);
const char		*sniff_type_mime(enum sniff_type);

/* Multipart form fields of an upload (see sniff.c). */
ssize_t			 sniff_field(char *s, char **out);
void			 sniff_filename(const char *in, size_t max, char *name,
			    size_t nlen, char *orig, size_t olen);

#endif /* ELENCHUS_SNIFF_H */
