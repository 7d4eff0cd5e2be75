/*
 * The document_process job: the uploaded bytes through the sandboxed
 * extractor (elenchus-extract, under its own CPU, memory and wall-clock
 * limits), the text split into chunks with exact code point offsets,
 * chunks and text stored in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "lib/chunk.h"
#include "lib/extract.h"

/* Largest extractor answer read: the text limit, JSON-escaped, and slack. */
#define DOC_EXTRACT_MAX_OUT	(2 * EXTRACT_MAX_TEXT + 1024 * 1024)

static enum job_res	doc_run(struct jctx *, struct job *, struct jout *);
static void		doc_failed(struct jctx *, struct job *, const char *);
static int		doc_begin(struct jctx *, const char *, struct jout *,
			    enum job_res *);
static int		doc_extract(struct jctx *, const char *,
			    struct jout *, char **, enum job_res *);
static enum job_res	doc_extract_failed(const char *, struct jout *);
static enum job_res	doc_store(struct jctx *, const char *,
			    const struct extract_doc *, struct jout *);
static int		doc_chunks_json(const struct extract_doc *, char **,
			    size_t *);
static char		*doc_warnings_json(const struct extract_doc *);
static int		doc_store_tx(struct jctx *, const char *,
			    const struct extract_doc *, const char *,
			    const char *, size_t);

const struct job_kind	job_kind_doc_process = {
	"document_process", doc_run, doc_failed
};

static const char sql_start[] =
    "UPDATE documents SET processing_status = 'processing', "
    "processing_error = NULL, updated_at = now() "
    "WHERE id = $1 AND processing_status IN ('pending', 'processing') "
    "RETURNING file_type";

static const char sql_bytes[] =
    "SELECT data FROM document_blobs WHERE document_id = $1";

static const char sql_chunks[] =
    "INSERT INTO document_chunks (document_id, user_id, chunk_index, "
    "content, start_char, end_char, page_start, page_end) "
    "SELECT d.id, d.user_id, x.i, x.t, x.s, x.e, x.ps, x.pe "
    "FROM documents d, jsonb_to_recordset($2::jsonb) AS "
    "x(i int, t text, s int, e int, ps int, pe int) WHERE d.id = $1";

static const char sql_done[] =
    "UPDATE documents SET processing_status = 'completed', "
    "processing_error = NULL, content = $2, has_text = $3::boolean, "
    "page_count = $4::int, chunk_count = $5::int, "
    "warnings = ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
    "updated_at = now() WHERE id = $1";

static const char sql_failed[] =
    "UPDATE documents SET processing_status = 'failed', "
    "processing_error = $2, updated_at = now() WHERE id = $1";

static enum job_res
doc_run(struct jctx *c, struct job *j, struct jout *o)
{
	struct extract_doc	 doc;
	const char		*id;
	char			*json = NULL, *err = NULL;
	enum job_res		 r;

	id = json_string_value(json_object_get(j->payload, "document_id"));
	if (id == NULL) {
		jout_err(o, "payload without document_id");
		return (JOB_FAIL);
	}
	if (!doc_begin(c, id, o, &r) || !doc_extract(c, id, o, &json, &r))
		return (r);
	memset(&doc, 0, sizeof(doc));
	if (extract_result_parse(json, strlen(json), &doc, &err) == -1) {
		jout_err(o, "extraction failed: %s",
		    err != NULL ? err : "bad answer");
		free(err);
		free(json);
		return (JOB_FAIL);
	}
	free(json);
	r = doc_store(c, id, &doc, o);
	extract_doc_free(&doc);
	return (r);
}

/*
 * Mark the document processing.  1 to go on; 0 with *r decided (gone or
 * done by an earlier attempt, or a database error).
 */
static int
doc_begin(struct jctx *c, const char *id, struct jout *o, enum job_res *r)
{
	PGresult	*res;
	const char	*p[1];

	p[0] = id;
	if ((res = jdb_exec(c, sql_start, 1, p)) == NULL) {
		jout_err(o, "database error");
		*r = JOB_RETRY;
		return (0);
	}
	if (PQntuples(res) == 0) {
		/* Deleted, or already processed by an earlier attempt. */
		PQclear(res);
		o->result = json_pack("{s:s}", "skipped", "document gone or "
		    "already processed");
		*r = JOB_DONE;
		return (0);
	}
	PQclear(res);
	return (1);
}

/*
 * The uploaded bytes through the extractor.  1 with its answer in *json
 * (caller frees); 0 with *r decided.
 */
static int
doc_extract(struct jctx *c, const char *id, struct jout *o, char **json,
    enum job_res *r)
{
	PGresult	*res;
	const char	*p[1];
	char		*err = NULL;
	int		 rc;

	p[0] = id;
	if ((res = jdb_exec_bin(c, sql_bytes, 1, p, 1)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		jout_err(o, "document bytes not found");
		*r = res == NULL ? JOB_RETRY : JOB_FAIL;
		return (0);
	}
	rc = extract_run(cfg.extract_exe, PQgetvalue(res, 0, 0),
	    (size_t)PQgetlength(res, 0, 0), cfg.extract_timeout_s,
	    DOC_EXTRACT_MAX_OUT, json, &err);
	PQclear(res);
	if (rc == 0)
		return (1);
	*r = doc_extract_failed(err, o);
	free(err);
	return (0);
}

/*
 * The extractor's verdict on the file is final, and so is running out of
 * a resource on it (CPU time, memory, the wall-clock limit, a crash):
 * another attempt would spend the same again while other users' documents
 * wait.  Only a failure to start the extractor is tried again.
 */
static enum job_res
doc_extract_failed(const char *err, struct jout *o)
{
	if (err == NULL) {
		jout_err(o, "extraction failed: unknown error");
		return (JOB_RETRY);
	}
	if (strncmp(err, "exit ", 5) == 0)
		jout_err(o, "extraction failed: %s", err);
	else if (strstr(err, "cpu time limit") != NULL)
		jout_err(o, "extraction failed: the document needs "
		    "more CPU time than allowed (%s)", err);
	else if (!strcmp(err, "timeout"))
		jout_err(o, "extraction failed: the document took "
		    "longer than %d s to extract", cfg.extract_timeout_s);
	else if (strncmp(err, "killed by signal", 16) == 0)
		jout_err(o, "extraction failed: the extractor ran out "
		    "of memory or crashed on this document (%s)", err);
	else if (!strcmp(err, "output too large"))
		jout_err(o, "extraction failed: the document's text is "
		    "larger than allowed");
	else {
		jout_err(o, "extraction failed: %s", err);
		return (JOB_RETRY);
	}
	return (JOB_FAIL);
}

static enum job_res
doc_store(struct jctx *c, const char *id, const struct extract_doc *doc,
    struct jout *o)
{
	char			*chunks, *warns;
	size_t			 n = 0;
	enum job_res		 r = JOB_RETRY;

	if (doc_chunks_json(doc, &chunks, &n) == -1) {
		jout_err(o, "chunking failed");
		return (JOB_FAIL);
	}
	if ((warns = doc_warnings_json(doc)) == NULL || chunks == NULL) {
		jout_err(o, "out of memory");
		free(chunks);
		free(warns);
		return (JOB_RETRY);
	}
	if (doc_store_tx(c, id, doc, chunks, warns, n) == 0) {
		o->result = json_pack("{s:s, s:I, s:b}", "document_id", id,
		    "chunks", (json_int_t)n, "has_text", doc->has_text);
		r = JOB_DONE;
	} else {
		jout_err(o, "database error storing the text");
	}
	free(chunks);
	free(warns);
	return (r);
}

/*
 * The text cut into *n chunks, as the JSON sql_chunks reads, in *out
 * (NULL when out of memory; caller frees).  -1 when chunking failed.
 */
static int
doc_chunks_json(const struct extract_doc *doc, char **out, size_t *n)
{
	struct chunk_span	*sp = NULL;
	json_t			*arr;
	size_t			 i;

	*out = NULL;
	if (chunk_split(doc->text, doc->text_len, doc->page_starts,
	    doc->npages, &sp, n) == -1)
		return (-1);
	arr = json_array();
	for (i = 0; i < *n; i++)
		(void)json_array_append_new(arr, json_pack(
		    "{s:I, s:s%, s:I, s:I, s:o, s:o}",
		    "i", (json_int_t)i,
		    "t", doc->text + sp[i].byte_off, sp[i].byte_len,
		    "s", (json_int_t)sp[i].start_char,
		    "e", (json_int_t)sp[i].end_char,
		    "ps", sp[i].page_start ? json_integer(sp[i].page_start) :
		    json_null(),
		    "pe", sp[i].page_end ? json_integer(sp[i].page_end) :
		    json_null()));
	free(sp);
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return (0);
}

static char *
doc_warnings_json(const struct extract_doc *doc)
{
	json_t	*warn;
	char	*out;
	size_t	 i;

	warn = json_array();
	for (i = 0; i < doc->nwarnings; i++)
		(void)json_array_append_new(warn,
		    json_string(doc->warnings[i]));
	if (!doc->has_text && json_array_size(warn) == 0)
		(void)json_array_append_new(warn, json_string("no_text"));
	out = json_dumps(warn, JSON_COMPACT);
	json_decref(warn);
	return (out);
}

/* Chunks and text in one transaction: 0, or -1 (rolled back). */
static int
doc_store_tx(struct jctx *c, const char *id, const struct extract_doc *doc,
    const char *chunks, const char *warns, size_t n)
{
	const char	*p[6];
	char		 pages[16], count[16];

	if (jdb_cmd(c, "BEGIN", 0, NULL) == -1)
		return (-1);
	p[0] = id;
	p[1] = chunks;
	(void)snprintf(pages, sizeof(pages), "%d", doc->page_count);
	(void)snprintf(count, sizeof(count), "%zu", n);
	if (jdb_cmd(c, "DELETE FROM document_chunks WHERE document_id = $1",
	    1, p) == -1 || jdb_cmd(c, sql_chunks, 2, p) == -1)
		goto rollback;
	p[1] = doc->text;
	p[2] = doc->has_text ? "true" : "false";
	p[3] = doc->page_count > 0 ? pages : NULL;
	p[4] = count;
	p[5] = warns;
	if (jdb_cmd(c, sql_done, 6, p) == -1)
		goto rollback;
	return (jdb_cmd(c, "COMMIT", 0, NULL) == -1 ? -1 : 0);
rollback:
	(void)jdb_cmd(c, "ROLLBACK", 0, NULL);
	return (-1);
}

/*
 * At start: what the extractor's sandbox obtains on this machine (its -S
 * mode), in the log, with what the kernel refused.
 */
void
doc_sandbox_log(void)
{
	const char	*got, *refused;
	char		*argv[3], *json = NULL, *err = NULL;
	json_t		*obj;

	argv[0] = cfg.extract_exe;
	argv[1] = "-S";
	argv[2] = NULL;
	if (extract_runv(argv, "", 0, cfg.extract_timeout_s, 4096, &json,
	    &err) == -1) {
		jlog("extractor sandbox: %s: %s", cfg.extract_exe, err);
		free(err);
		return;
	}
	obj = json_loads(json, 0, NULL);
	got = json_string_value(json_object_get(obj, "sandbox"));
	refused = json_string_value(json_object_get(obj, "refused"));
	if (got == NULL || refused == NULL)
		jlog("extractor sandbox: unreadable answer %.200s", json);
	else
		jlog("extractor sandbox: %s%s%s", got, *refused ?
		    "; refused: " : "", refused);
	json_decref(obj);
	free(json);
}

static void
doc_failed(struct jctx *c, struct job *j, const char *err)
{
	const char	*p[2];

	p[0] = json_string_value(json_object_get(j->payload, "document_id"));
	p[1] = err;
	if (p[0] != NULL)
		(void)jdb_cmd(c, sql_failed, 2, p);
}
