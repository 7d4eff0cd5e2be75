/*
 * pdf.c -- PDF text, page by page, with poppler's GLib binding.
 *
 * poppler is what Debian's own tools (pdftotext, evince) use to read PDFs;
 * the GLib binding gives a C API and UTF-8 text per page.  Calling it in
 * this process, rather than running pdftotext, keeps one process per file
 * under one set of limits and gives page boundaries directly.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poppler.h>

#include "extract.h"
#include "utf8.h"
#include "extractor.h"

static int	pdf_add_page(json_t *, PopplerPage *, size_t *, int *);

int
xt_pdf(const void *data, size_t len, json_t **out, char *err)
{
	GBytes		*bytes;
	GError		*gerr = NULL;
	PopplerDocument	*doc;
	PopplerPage	*page;
	json_t		*obj = NULL;
	size_t		 budget = EXTRACT_MAX_TEXT;
	int		 i, n, truncated = 0, rc = -1;

	*out = NULL;
	bytes = g_bytes_new_static(data, len);
	doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	if (doc == NULL) {
		if (gerr != NULL && gerr->domain == POPPLER_ERROR &&
		    gerr->code == POPPLER_ERROR_ENCRYPTED)
			snprintf(err, XT_ERRLEN, "PDF is encrypted");
		else
			snprintf(err, XT_ERRLEN, "PDF could not be read: %s",
			    gerr != NULL ? gerr->message : "unknown error");
		goto done;
	}
	n = poppler_document_get_n_pages(doc);
	if (n <= 0) {
		snprintf(err, XT_ERRLEN, "PDF has no pages");
		goto done;
	}
	if (n > XT_PDF_MAX_PAGES) {
		snprintf(err, XT_ERRLEN, "PDF has too many pages (%d)", n);
		goto done;
	}
	if ((obj = extract_json_new("pdf")) == NULL) {
		snprintf(err, XT_ERRLEN, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		page = poppler_document_get_page(doc, i);
		if (pdf_add_page(obj, page, &budget, &truncated) == -1) {
			if (page != NULL)
				g_object_unref(page);
			snprintf(err, XT_ERRLEN, "out of memory");
			goto done;
		}
		if (page != NULL)
			g_object_unref(page);
	}
	if (truncated)
		extract_json_warn(obj, EXTRACT_WARN_TRUNCATED);
	*out = obj;
	obj = NULL;
	rc = 0;
done:
	json_decref(obj);
	if (gerr != NULL)
		g_error_free(gerr);
	if (doc != NULL)
		g_object_unref(doc);
	g_bytes_unref(bytes);
	return (rc);
}

/*
 * Add one page's text, within what is left of the text budget; past the
 * budget (or for a page poppler cannot give) the page is added empty so
 * that page numbers stay right.
 */
static int
pdf_add_page(json_t *obj, PopplerPage *page, size_t *budget, int *truncated)
{
	char	*raw = NULL, *text;
	size_t	 tlen, keep;
	int	 rc;

	if (page != NULL && *budget > 0)
		raw = poppler_page_get_text(page);
	if (raw == NULL)
		return (extract_json_add_page(obj, "", 0));
	text = extract_text_normalise(raw, strlen(raw), &tlen);
	g_free(raw);
	if (text == NULL)
		return (-1);
	keep = utf8_clip(text, tlen, *budget);
	if (keep < tlen)
		*truncated = 1;
	*budget -= keep;
	rc = extract_json_add_page(obj, text, keep);
	free(text);
	return (rc);
}
