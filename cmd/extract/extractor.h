/*
 * extractor.h -- the format readers of elenchus-extract, the sandboxed
 * text extraction program.  Each turns a file's bytes into the JSON answer
 * object of extract.h, or fails with a short message.
 */

#ifndef ELENCHUS_EXTRACTOR_H
#define ELENCHUS_EXTRACTOR_H

#include <stddef.h>

#include <jansson.h>

/* Exit statuses of elenchus-extract. */
#define XT_EXIT_OK		0
#define XT_EXIT_FAIL		2	/* the file could not be extracted */
#define XT_EXIT_USAGE		64	/* bad command line */

/* Pages read from one PDF before giving up. */
#define XT_PDF_MAX_PAGES	20000
/* word/document.xml bigger than this when inflated is refused. */
#define XT_DOCX_MAX_XML		(32 * 1024 * 1024)
/* Tables nested deeper than this are flattened. */
#define XT_DOCX_MAX_DEPTH	64

#define XT_ERRLEN		256

/*
 * Each returns 0 with a new answer object in *out (caller owns it), or -1
 * with a message in err (XT_ERRLEN bytes).
 */
int	xt_pdf(const void *data, size_t len, json_t **out, char *err);
int	xt_docx(const void *data, size_t len, json_t **out, char *err);
int	xt_docx_xml(const void *xml, size_t len, json_t **out, char *err);
int	xt_text(const void *data, size_t len, const char *file_type,
	    json_t **out, char *err);

#if defined(XT_PROBE)
#include <sys/types.h>

struct sandbox_info;

/*
 * Test build only: inside the sandbox (or outside it with -U), try what a
 * parser taken over by a hostile file would: read the parent's
 * environment, open sockets, read the parent's memory.  Writes what each
 * attempt gave as JSON on stdout; returns the exit status.
 */
int	xt_probe(pid_t ppid, const struct sandbox_info *sb);
#endif

#endif /* ELENCHUS_EXTRACTOR_H */
