/*
 * docx.c -- DOCX text: word/document.xml out of the ZIP with libzip, then
 * a streaming walk over it with libxml2's reader.
 *
 * Both libraries are the Debian defaults for the job (libzip-dev,
 * libxml2-dev) and both are used defensively: the inflated size of the
 * part is capped twice, by the directory's claim and by counting the bytes
 * actually inflated (a lying header gains nothing), and the XML is parsed
 * with no network, no entity substitution, no DTD loading and libxml2's
 * size limits left on; a document with a DOCTYPE is refused outright, as
 * Word never writes one.
 */

#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>
#include <zip.h>

#include "extract.h"
#include "utf8.h"
#include "extractor.h"

#define DOCX_PART	"word/document.xml"
#define NS_W		"http://schemas.openxmlformats.org/" \
			    "wordprocessingml/2006/main"
#define NS_W_STRICT	"http://purl.oclc.org/ooxml/wordprocessingml/main"
#define NS_MC		"http://schemas.openxmlformats.org/" \
			    "markup-compatibility/2006"

/* Text being built, bounded by EXTRACT_MAX_TEXT. */
struct walk {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 full;		/* budget reached: text truncated */
	int	 oom;		/* allocation failed */
	int	 in_t;		/* inside w:t */
	int	 runs;		/* open w:r elements */
	int	 cells;		/* open w:tc elements */
	char	 pending;	/* separator owed before the next text */
	int	 depth;		/* open w:tr elements */
	int	 rowcells[XT_DOCX_MAX_DEPTH];
};

static int	docx_read_part(zip_t *, char **, size_t *, char *);
static int	docx_walk(const char *, size_t, struct walk *, char *);
static int	docx_node(xmlTextReaderPtr, struct walk *, char *);
static int	docx_is_w(const xmlChar *);
static void	docx_start(struct walk *, const char *, int);
static void	docx_end(struct walk *, const char *);
static void	walk_put(struct walk *, const char *, size_t);
static void	walk_sep(struct walk *, char);

int
xt_docx(const void *data, size_t len, json_t **out, char *err)
{
	zip_error_t	 zerr;
	zip_source_t	*src;
	zip_t		*za;
	char		*xml = NULL;
	size_t		 xlen = 0;
	int		 rc;

	*out = NULL;
	zip_error_init(&zerr);
	if ((src = zip_source_buffer_create(data, len, 0, &zerr)) == NULL) {
		snprintf(err, XT_ERRLEN, "zip: %s", zip_error_strerror(&zerr));
		zip_error_fini(&zerr);
		return (-1);
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY, &zerr)) == NULL) {
		snprintf(err, XT_ERRLEN, "not a readable ZIP archive: %s",
		    zip_error_strerror(&zerr));
		zip_source_free(src);
		zip_error_fini(&zerr);
		return (-1);
	}
	zip_error_fini(&zerr);
	rc = docx_read_part(za, &xml, &xlen, err);
	zip_discard(za);	/* also frees src */
	if (rc == -1)
		return (-1);
	rc = xt_docx_xml(xml, xlen, out, err);
	free(xml);
	return (rc);
}

int
xt_docx_xml(const void *xml, size_t len, json_t **out, char *err)
{
	struct walk	 w;
	char		*text;
	size_t		 tlen;
	json_t		*obj = NULL;
	int		 rc = -1;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	if (docx_walk(xml, len, &w, err) == -1)
		goto done;
	if (w.oom) {
		snprintf(err, XT_ERRLEN, "out of memory");
		goto done;
	}
	if ((text = extract_text_normalise(w.buf != NULL ? w.buf : "", w.len,
	    &tlen)) == NULL) {
		snprintf(err, XT_ERRLEN, "out of memory");
		goto done;
	}
	if ((obj = extract_json_new("docx")) == NULL ||
	    extract_json_set_text(obj, text, tlen) == -1 ||
	    (w.full && extract_json_warn(obj, EXTRACT_WARN_TRUNCATED) == -1)) {
		free(text);
		snprintf(err, XT_ERRLEN, "out of memory");
		goto done;
	}
	free(text);
	*out = obj;
	obj = NULL;
	rc = 0;
done:
	json_decref(obj);
	free(w.buf);
	return (rc);
}

/*
 * Inflate word/document.xml into a malloc'd buffer, refusing it when the
 * directory says it is too big or when more than that comes out.
 */
static int
docx_read_part(zip_t *za, char **xml, size_t *xlen, char *err)
{
	zip_int64_t	 idx, r;
	zip_stat_t	 st;
	zip_file_t	*zf;
	char		*buf;
	size_t		 n = 0;

	if ((idx = zip_name_locate(za, DOCX_PART, 0)) < 0) {
		snprintf(err, XT_ERRLEN, "not a DOCX: no %s", DOCX_PART);
		return (-1);
	}
	zip_stat_init(&st);
	if (zip_stat_index(za, (zip_uint64_t)idx, 0, &st) == 0 &&
	    (st.valid & ZIP_STAT_SIZE) && st.size > XT_DOCX_MAX_XML) {
		snprintf(err, XT_ERRLEN, "%s inflates to more than %d bytes",
		    DOCX_PART, XT_DOCX_MAX_XML);
		return (-1);
	}
	if ((zf = zip_fopen_index(za, (zip_uint64_t)idx, 0)) == NULL) {
		snprintf(err, XT_ERRLEN, "cannot open %s: %s", DOCX_PART,
		    zip_strerror(za));
		return (-1);
	}
	/* One byte over the cap tells a too-big part from a full one. */
	if ((buf = malloc(XT_DOCX_MAX_XML + 1)) == NULL) {
		zip_fclose(zf);
		snprintf(err, XT_ERRLEN, "out of memory");
		return (-1);
	}
	while (n <= XT_DOCX_MAX_XML) {
		r = zip_fread(zf, buf + n, XT_DOCX_MAX_XML + 1 - n);
		if (r == 0)
			break;
		if (r < 0) {
			snprintf(err, XT_ERRLEN, "corrupt %s: %s", DOCX_PART,
			    zip_file_strerror(zf));
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > XT_DOCX_MAX_XML) {
		snprintf(err, XT_ERRLEN, "%s inflates to more than %d bytes",
		    DOCX_PART, XT_DOCX_MAX_XML);
		goto fail;
	}
	zip_fclose(zf);
	*xml = buf;
	*xlen = n;
	return (0);
fail:
	zip_fclose(zf);
	free(buf);
	return (-1);
}

static int
docx_walk(const char *xml, size_t len, struct walk *w, char *err)
{
	xmlTextReaderPtr	 r;
	int			 ret = 1;

	if (len > (size_t)INT32_MAX) {
		snprintf(err, XT_ERRLEN, "%s too large", DOCX_PART);
		return (-1);
	}
	/*
	 * Refuse a DTD before libxml2 sees it: the reader parses ahead, so
	 * entities could be expanded before the DOCTYPE node is reported.
	 */
	if (memmem(xml, len, "<!DOCTYPE", 9) != NULL ||
	    memmem(xml, len, "<!ENTITY", 8) != NULL) {
		snprintf(err, XT_ERRLEN, "%s has a DTD or entities",
		    DOCX_PART);
		return (-1);
	}
	/* No NOENT, DTDLOAD or HUGE: entities stay unexpanded, limits on. */
	r = xmlReaderForMemory(xml, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (r == NULL) {
		snprintf(err, XT_ERRLEN, "out of memory");
		return (-1);
	}
	while (!w->full && (ret = xmlTextReaderRead(r)) == 1) {
		if (docx_node(r, w, err) == -1) {
			xmlFreeTextReader(r);
			return (-1);
		}
	}
	xmlFreeTextReader(r);
	if (!w->full && ret != 0) {
		snprintf(err, XT_ERRLEN, "%s is not well-formed XML",
		    DOCX_PART);
		return (-1);
	}
	return (0);
}

/* The reader's current node into the walk: 0, or -1 with err set. */
static int
docx_node(xmlTextReaderPtr r, struct walk *w, char *err)
{
	const xmlChar	*name, *v;

	switch (xmlTextReaderNodeType(r)) {
	case XML_READER_TYPE_DOCUMENT_TYPE:
	case XML_READER_TYPE_ENTITY_REFERENCE:
		snprintf(err, XT_ERRLEN, "%s has a DTD or entities",
		    DOCX_PART);
		return (-1);
	case XML_READER_TYPE_ELEMENT:
		name = xmlTextReaderConstLocalName(r);
		v = xmlTextReaderConstNamespaceUri(r);
		/* Alternate renderings repeat the same text. */
		if (v != NULL && strcmp((const char *)v, NS_MC) == 0 &&
		    strcmp((const char *)name, "Fallback") == 0) {
			if (xmlTextReaderNext(r) != -1)
				return (0);
			snprintf(err, XT_ERRLEN, "%s is not well-formed XML",
			    DOCX_PART);
			return (-1);
		}
		if (docx_is_w(v))
			docx_start(w, (const char *)name,
			    xmlTextReaderIsEmptyElement(r));
		break;
	case XML_READER_TYPE_END_ELEMENT:
		if (docx_is_w(xmlTextReaderConstNamespaceUri(r)))
			docx_end(w, (const char *)
			    xmlTextReaderConstLocalName(r));
		break;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		if (w->in_t && (v = xmlTextReaderConstValue(r)) != NULL)
			walk_put(w, (const char *)v, strlen((const char *)v));
		break;
	default:
		break;
	}
	return (0);
}

static int
docx_is_w(const xmlChar *ns)
{
	return (ns != NULL && (strcmp((const char *)ns, NS_W) == 0 ||
	    strcmp((const char *)ns, NS_W_STRICT) == 0));
}

/*
 * Paragraphs end with a newline; table cells are separated by tabs and
 * rows end with a newline, paragraphs inside a cell by a space; w:tab,
 * w:br and w:cr inside a run are a tab and newlines.  Only w:t holds text:
 * deleted text (w:delText) and field codes (w:instrText) are skipped.
 */
static void
docx_start(struct walk *w, const char *name, int empty)
{
	if (strcmp(name, "t") == 0) {
		w->in_t = !empty;
	} else if (strcmp(name, "r") == 0) {
		if (!empty)
			w->runs++;
	} else if (w->runs > 0 && strcmp(name, "tab") == 0) {
		walk_put(w, "\t", 1);
	} else if (w->runs > 0 && (strcmp(name, "br") == 0 ||
	    strcmp(name, "cr") == 0)) {
		walk_put(w, "\n", 1);
	} else if (w->runs > 0 && strcmp(name, "noBreakHyphen") == 0) {
		walk_put(w, "-", 1);
	} else if (strcmp(name, "p") == 0) {
		if (empty)
			docx_end(w, name);
	} else if (strcmp(name, "tr") == 0) {
		if (!empty && w->depth < XT_DOCX_MAX_DEPTH)
			w->rowcells[w->depth] = 0;
		if (!empty)
			w->depth++;
		walk_sep(w, 0);
	} else if (strcmp(name, "tc") == 0) {
		if (w->depth > 0 && w->depth <= XT_DOCX_MAX_DEPTH &&
		    w->rowcells[w->depth - 1]++ > 0)
			walk_sep(w, '\t');
		else
			walk_sep(w, 0);
		if (!empty)
			w->cells++;
	}
}

static void
docx_end(struct walk *w, const char *name)
{
	if (strcmp(name, "t") == 0) {
		w->in_t = 0;
	} else if (strcmp(name, "r") == 0) {
		if (w->runs > 0)
			w->runs--;
	} else if (strcmp(name, "p") == 0) {
		if (w->cells > 0) {
			if (w->len > 0 && w->pending == 0 &&
			    w->buf[w->len - 1] != '\t' &&
			    w->buf[w->len - 1] != '\n')
				w->pending = ' ';
		} else {
			walk_sep(w, 0);
			walk_put(w, "\n", 1);
		}
	} else if (strcmp(name, "tc") == 0) {
		if (w->cells > 0)
			w->cells--;
		w->pending = 0;
	} else if (strcmp(name, "tr") == 0) {
		if (w->depth > 0)
			w->depth--;
		w->pending = 0;
		walk_put(w, "\n", 1);
	}
}

/* Emit a separator now (c != 0) and forget any pending one. */
static void
walk_sep(struct walk *w, char c)
{
	w->pending = 0;
	if (c != 0)
		walk_put(w, &c, 1);
}

static void
walk_put(struct walk *w, const char *s, size_t n)
{
	size_t	 ncap;
	char	*nb;
	char	 p = w->pending;

	if (w->full)
		return;
	if (p != 0) {
		w->pending = 0;
		walk_put(w, &p, 1);
	}
	if (n > EXTRACT_MAX_TEXT - w->len) {
		n = utf8_clip(s, n, EXTRACT_MAX_TEXT - w->len);
		w->full = 1;
	}
	if (w->len + n > w->cap) {
		ncap = w->cap == 0 ? 4096 : w->cap;
		while (ncap < w->len + n)
			ncap *= 2;
		if ((nb = realloc(w->buf, ncap)) == NULL) {
			w->full = w->oom = 1;
			return;
		}
		w->buf = nb;
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}
