/*
 * extract.h -- text extraction: the pure parts (normalisation, the result
 * JSON both ways) and the runner that executes the sandboxed extractor
 * program (elenchus-extract) with a wall-clock timeout.
 */

#ifndef ELENCHUS_EXTRACT_H
#define ELENCHUS_EXTRACT_H

#include <stddef.h>

#include <jansson.h>

/* Joins PDF pages in the text handed to the chunker. */
#define EXTRACT_PAGE_SEP	"\n\n"
/* Extracted text kept, in bytes; the rest is dropped with a warning. */
#define EXTRACT_MAX_TEXT	(16 * 1024 * 1024)
/* Bound on the extractor's error message kept by extract_run. */
#define EXTRACT_MAX_ERRMSG	512
/* Back-off while waiting for the child's exit after its EOF (us). */
#define EXTRACT_REAP_MIN_US	50
#define EXTRACT_REAP_MAX_US	5000

/* Warnings the extractor may report. */
#define EXTRACT_WARN_NO_TEXT	"no_text_layer"
#define EXTRACT_WARN_TRUNCATED	"text_truncated"

/*
 * The extractor's answer parsed for the caller: text is all pages joined
 * by EXTRACT_PAGE_SEP (PDF) or the document's text, page_starts[i] is the
 * code point offset where page i + 1 begins (PDF only, else NULL/0).
 */
struct extract_doc {
	char	 file_type[8];
	char	*text;			/* malloc'd, NUL-terminated */
	size_t	 text_len;		/* bytes */
	size_t	*page_starts;		/* malloc'd, npages entries */
	size_t	 npages;
	int	 page_count;		/* 0 for non-PDF */
	int	 has_text;
	char	**warnings;		/* malloc'd strings */
	size_t	 nwarnings;
};

/*
 * Clean extracted text: drop a leading BOM, CRLF and CR to LF, form feed
 * and vertical tab to LF, other C0 controls and NUL removed (PostgreSQL
 * text cannot hold NUL), invalid UTF-8 replaced by U+FFFD.  Returns a
 * malloc'd NUL-terminated string (length in *outlen) or NULL on
 * allocation failure.  The caller frees it.
 */
char	*extract_text_normalise(const char *in, size_t len, size_t *outlen);

/* Largest n <= max such that s[0..n) ends on a code point boundary. */

/* 1 if text holds anything but white space. */
int	 extract_has_text(const char *s, size_t len);

/*
 * Build the extractor's JSON answer.  extract_json_new returns a new
 * object (caller owns it, NULL on allocation failure); pages and text are
 * copied in as given (normalise first); extract_json_finish sets
 * page_count and has_text, adds the no-text warning, and returns the
 * compact serialisation (malloc'd, caller frees) and releases obj.
 */
json_t	*extract_json_new(const char *file_type);
int	 extract_json_add_page(json_t *obj, const char *text, size_t len);
int	 extract_json_set_text(json_t *obj, const char *text, size_t len);
int	 extract_json_warn(json_t *obj, const char *warning);
char	*extract_json_finish(json_t *obj);
/* {"error": msg}, malloc'd, caller frees. */
char	*extract_json_error(const char *msg);

/*
 * Parse the extractor's JSON answer into *doc.  Returns 0, or -1 with a
 * malloc'd reason in *err (caller frees).  Free with extract_doc_free.
 */
int	 extract_result_parse(const char *json, size_t len,
	    struct extract_doc *doc, char **err);
void	 extract_doc_free(struct extract_doc *doc);

/*
 * Run the extractor exe (no arguments) with data on its stdin, under a
 * wall-clock limit of timeout_s seconds, reading at most max_out bytes of
 * its stdout.  The child gets a minimal environment (no secrets), stderr
 * on /dev/null, and no other descriptors.  Blocks the calling thread: run
 * it off the event loop.
 * Returns 0 with the child's stdout in *json_out (malloc'd, NUL-terminated,
 * caller frees) when it exited 0; else -1 with a malloc'd reason in
 * *err_out: "timeout", "killed by signal N", "output too large",
 * "exit N: <message>", or "spawn: ...".
 */
int	 extract_run(const char *exe, const void *data, size_t len,
	    int timeout_s, size_t max_out, char **json_out, char **err_out);

/* As extract_run with an argument vector (argv[0] is the program). */
int	 extract_runv(char *const argv[], const void *data, size_t len,
	    int timeout_s, size_t max_out, char **json_out, char **err_out);

#endif /* ELENCHUS_EXTRACT_H */
