/*
 * Documents (docs/API.md §6) against the real server and its job runner:
 * upload by content type, background processing of real PDF, DOCX, TXT
 * and Markdown files, exact chunk offsets, hostile files, limits,
 * ownership, download, delete, full-text search, retrieval for chat, and
 * analyses through the LLM stand-in.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"

#define PROCESS_WAIT_S	90

static char *
fixture(const char *name, size_t *len)
{
	char		 path[512];
	FILE		*fp;
	char		*buf;
	long		 n;

	(void)snprintf(path, sizeof(path), "%s/%s",
	    env_or("FIXTURES_DIR", "build/fixtures/docs"), name);
	if (access(path, R_OK) != 0)
		cr_assert_eq(system("sh tests/fixtures/make_fixtures.sh "
		    ">/dev/null 2>&1"), 0);
	fp = fopen(path, "rb");
	cr_assert_not_null(fp, "fixture %s", path);
	(void)fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	(void)fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	(void)fclose(fp);
	*len = (size_t)n;
	return (buf);
}

static struct resp *
get(struct user *w, const char *path)
{
	return (fx_req(NULL, "GET", path, w->token, NULL, NULL));
}

static struct resp *
del(struct user *w, const char *path)
{
	return (fx_req(NULL, "DELETE", path, w->token, NULL, NULL));
}

/* Upload, expect 201, return the new id (static buffer per call site). */
static void
upload_ok(struct user *w, const char *filename, const char *data, size_t len,
    char *id, size_t idlen)
{
	struct resp	*r;

	r = fx_upload(NULL, w, filename, data, len, NULL);
	cr_assert_eq(r->status, 201, "upload %s: %ld %s", filename, r->status,
	    r->body);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "pending");
	(void)snprintf(id, idlen, "%s", jstr(r, "data.id"));
	resp_free(r);
}

/* Poll the document until it is completed or failed. */
static struct resp *
wait_done(struct user *w, const char *id)
{
	struct resp	*r;
	const char	*st;
	char		 path[256];
	int		 i;

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s", id);
	for (i = 0; i < PROCESS_WAIT_S * 10; i++) {
		r = get(w, path);
		cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
		st = jstr(r, "data.processing_status");
		if (st != NULL && (!strcmp(st, "completed") ||
		    !strcmp(st, "failed")))
			return (r);
		resp_free(r);
		(void)usleep(100000);
	}
	cr_assert_fail("document %s not processed in %d s", id,
	    PROCESS_WAIT_S);
	return (NULL);
}

/* Byte offset of code point cp in s (Python's s[cp:]). */
static size_t
cp_to_byte(const char *s, size_t len, size_t cp)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n == cp)
			return (i);
		n++;
	}
	cr_assert_eq(n, cp, "offset %zu past the end (%zu)", cp, n);
	return (len);
}

/*
 * Every chunk is content[start_char:end_char] in code points; returns
 * the number of chunks checked.
 */
static size_t
check_chunks(struct user *w, const char *id, int want_pages)
{
	struct resp	*c, *k;
	json_t		*items, *e;
	const char	*content, *text;
	char		 path[256];
	size_t		 clen, i, b0, b1, total = 0;
	int		 offset = 0;

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/content",
	    id);
	c = get(w, path);
	cr_assert_eq(c->status, 200, "%s", c->body);
	content = jstr(c, "data.content");
	cr_assert_not_null(content);
	clen = strlen(content);
	for (;;) {
		(void)snprintf(path, sizeof(path),
		    "/api/v1/documents/%s/chunks?limit=100&offset=%d", id,
		    offset);
		k = get(w, path);
		cr_assert_eq(k->status, 200, "%s", k->body);
		items = jpath(k->json, "data.items");
		cr_assert(json_is_array(items));
		json_array_foreach(items, i, e) {
			text = json_string_value(json_object_get(e,
			    "content"));
			b0 = cp_to_byte(content, clen, (size_t)
			    json_integer_value(json_object_get(e,
			    "start_char")));
			b1 = cp_to_byte(content, clen, (size_t)
			    json_integer_value(json_object_get(e,
			    "end_char")));
			cr_assert_eq(b1 - b0, strlen(text));
			cr_assert(memcmp(content + b0, text, b1 - b0) == 0,
			    "chunk %zu is not content[start:end]", total);
			cr_assert_eq(json_integer_value(json_object_get(e,
			    "chunk_index")), (json_int_t)total);
			if (want_pages) {
				cr_assert(json_integer_value(json_object_get(
				    e, "page_start")) >= 1);
				cr_assert(json_integer_value(json_object_get(
				    e, "page_end")) >= json_integer_value(
				    json_object_get(e, "page_start")));
			} else
				cr_assert(json_is_null(json_object_get(e,
				    "page_start")));
			total++;
		}
		if (json_array_size(items) == 0 || total >= (size_t)
		    jint(k, "data.total")) {
			cr_assert_eq((long long)total, jint(k, "data.total"));
			resp_free(k);
			break;
		}
		offset += (int)json_array_size(items);
		resp_free(k);
	}
	resp_free(c);
	return (total);
}


/* First column of the first row of a one-parameter query, as text. */
static char *
db_one(const char *sql, const char *p1, const char *p2)
{
	PGconn		*c;
	PGresult	*res;
	const char	*p[2] = { p1, p2 };
	char		*v;

	c = fx_db();
	res = PQexecParams(c, sql, p2 ? 2 : (p1 ? 1 : 0), NULL, p, NULL,
	    NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s",
	    PQerrorMessage(c));
	v = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(c);
	return (v);
}

static int
has_warning(struct resp *r, const char *w)
{
	json_t	*a, *e;
	size_t	 i;

	a = jpath(r->json, "warnings");
	json_array_foreach(a, i, e) {
		if (json_is_string(e) && strcmp(json_string_value(e), w) == 0)
			return (1);
	}
	return (0);
}

/* A long text: numbered clauses with German, Greek, CJK and emoji. */
static char *
long_text(int clauses, size_t *len)
{
	char	*s;
	size_t	 cap, n = 0;
	int	 i;

	cap = (size_t)clauses * 400 + 64;
	s = malloc(cap);
	for (i = 1; i <= clauses; i++)
		n += (size_t)snprintf(s + n, cap - n, "Clause %d.%d.%d "
		    "Vertragsänderung: the lessee shall indemnify the lessor "
		    "against all claims — σύμβαση %d, 契約 %d 😀. Notice of "
		    "termination must be given in writing within %d days "
		    "of the event.\n\n", i / 10, i % 10, i, i, i, i + 30);
	*len = n;
	return (s);
}

Test(documents, txt_with_non_ascii_text_is_chunked_with_exact_offsets)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *data;
	size_t		 len, n;

	fx_new(&w, "doc-");
	data = long_text(40, &len);
	upload_ok(&w, "Mietvertrag über Räume.txt", data, len, id,
	    sizeof(id));
	r = wait_done(&w, id);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed",
	    "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.file_type"), "txt");
	cr_expect(json_is_true(jpath(r->json, "data.has_text")));
	cr_expect_str_eq(jstr(r, "data.original_filename"),
	    "Mietvertrag über Räume.txt");
	cr_expect_eq(jint(r, "data.file_size"), (long long)len);
	cr_expect_eq(strlen(jstr(r, "data.content_hash")), 64);
	n = check_chunks(&w, id, 0);
	cr_expect(n >= 6, "only %zu chunks for %zu bytes", n, len);
	cr_expect_eq(jint(r, "data.chunk_count"), (long long)n);
	resp_free(r);
	free(data);

	/* The fixture with BOM and CRLF: normalised, offsets still exact. */
	data = fixture("notes.txt", &len);
	upload_ok(&w, "notes.txt", data, len, id, sizeof(id));
	r = wait_done(&w, id);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed");
	resp_free(r);
	cr_expect(check_chunks(&w, id, 0) >= 1);
	free(data);
}

Test(documents, multi_page_pdf_has_pages_and_exact_offsets)
{
	struct user	 w;
	struct resp	*r, *c;
	char		 id[64], path[256], *data;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("three_pages.pdf", &len);
	upload_ok(&w, "lease.pdf", data, len, id, sizeof(id));
	r = wait_done(&w, id);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed",
	    "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.file_type"), "pdf");
	cr_expect_eq(jint(r, "data.page_count"), 3);
	cr_expect(json_is_true(jpath(r->json, "data.has_text")));
	check_chunks(&w, id, 1);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/content",
	    id);
	c = get(&w, path);
	cr_expect(strstr(jstr(c, "data.content"),
	    "Vertragsänderung: déjà vu, naïve façade.") != NULL);
	resp_free(c);
	resp_free(r);
	free(data);
}

Test(documents, docx_with_table_and_markdown_complete)
{
	struct user	 w;
	struct resp	*r, *c;
	char		 id[64], id2[64], path[256], *data;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("table.docx", &len);
	upload_ok(&w, "table.docx", data, len, id, sizeof(id));
	free(data);
	data = fixture("readme.md", &len);
	upload_ok(&w, "readme.md", data, len, id2, sizeof(id2));
	free(data);

	r = wait_done(&w, id);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed",
	    "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.file_type"), "docx");
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/content",
	    id);
	c = get(&w, path);
	cr_expect(strstr(jstr(c, "data.content"), "Müller GmbH\tVermieter")
	    != NULL, "%s", c->body);
	cr_expect(strstr(jstr(c, "data.content"), "契約書 😀") != NULL);
	resp_free(c);
	resp_free(r);
	check_chunks(&w, id, 0);

	r = wait_done(&w, id2);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed");
	cr_expect_str_eq(jstr(r, "data.file_type"), "md");
	resp_free(r);
	check_chunks(&w, id2, 0);
}

Test(documents, scanned_pdf_completes_without_text_and_warns)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *data;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("scan.pdf", &len);
	upload_ok(&w, "scan.pdf", data, len, id, sizeof(id));
	r = wait_done(&w, id);
	cr_assert_str_eq(jstr(r, "data.processing_status"), "completed",
	    "%s", r->body);
	cr_expect(json_is_false(jpath(r->json, "data.has_text")));
	cr_expect_eq(jint(r, "data.page_count"), 1);
	cr_expect_eq(jint(r, "data.chunk_count"), 0);
	cr_expect(has_warning(r, "no_text_layer"), "%s", r->body);
	resp_free(r);
	free(data);
}

Test(documents, hostile_files_fail_with_a_reason_and_the_server_lives,
    .timeout = 240)
{
	static const char *const hostile[] = {
		"zipbomb.docx", "zipbomb_lying.docx", "laughs.docx",
		"corrupt.pdf", "truncated.pdf", "endless.pdf", NULL
	};
	struct user	 w;
	struct resp	*r;
	char		 ids[8][64], *data;
	size_t		 len;
	int		 i;

	fx_new(&w, "doc-");
	for (i = 0; hostile[i] != NULL; i++) {
		data = fixture(hostile[i], &len);
		upload_ok(&w, hostile[i], data, len, ids[i], sizeof(ids[i]));
		free(data);
	}
	for (i = 0; hostile[i] != NULL; i++) {
		r = wait_done(&w, ids[i]);
		cr_expect_str_eq(jstr(r, "data.processing_status"), "failed",
		    "%s: %s", hostile[i], r->body);
		cr_expect(jstr(r, "data.processing_error") != NULL &&
		    strlen(jstr(r, "data.processing_error")) > 0,
		    "%s: no reason", hostile[i]);
		resp_free(r);
	}
	r = http_get("/health");
	cr_expect_eq(r->status, 200);
	resp_free(r);
}

Test(documents, type_is_checked_by_content)
{
	static const char *const bad[] = {
		"nul.txt", "latin1.txt", "pdf_named.docx", "plain_zip.docx",
		NULL
	};
	struct user	 w;
	struct resp	*r;
	char		*data;
	size_t		 len;
	int		 i;

	fx_new(&w, "doc-");
	for (i = 0; bad[i] != NULL; i++) {
		data = fixture(bad[i], &len);
		r = fx_upload(NULL, &w, bad[i], data, len, NULL);
		cr_expect_eq(r->status, 415, "%s: %ld %s", bad[i], r->status,
		    r->body);
		cr_expect_str_eq(err_code(r), "unsupported_media_type");
		resp_free(r);
		free(data);
	}
	/* A binary blob called .pdf. */
	r = fx_upload(NULL, &w, "fake.pdf",
	    "\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10, NULL);
	cr_expect_eq(r->status, 415, "%s", r->body);
	resp_free(r);
	/* No file, and an empty file. */
	r = fx_upload(NULL, &w, "empty.txt", "", 0, NULL);
	cr_expect_eq(r->status, 400, "%s", r->body);
	cr_expect_str_eq(err_code(r), "validation_error");
	resp_free(r);
	r = fx_call("POST", &w, "{}", "/api/v1/documents");
	cr_expect_eq(r->status, 415, "%s", r->body);
	resp_free(r);
}

Test(documents, same_bytes_again_warn_duplicate_of)
{
	struct user	 w, o;
	struct resp	*r;
	char		 id[64], want[128];
	const char	*text = "Duplicate detection works on bytes.\n";

	fx_new(&w, "doc-");
	fx_new(&o, "doc-");
	upload_ok(&w, "a.txt", text, strlen(text), id, sizeof(id));
	r = fx_upload(NULL, &w, "b.txt", text, strlen(text), NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	(void)snprintf(want, sizeof(want), "duplicate_of:%s", id);
	cr_expect(has_warning(r, want), "%s", r->body);
	cr_expect_str_neq(jstr(r, "data.id"), id);
	resp_free(r);
	/* Another user's identical bytes are not a duplicate. */
	r = fx_upload(NULL, &o, "a.txt", text, strlen(text), NULL);
	cr_assert_eq(r->status, 201);
	cr_expect_eq(json_array_size(jpath(r->json, "warnings")), 0,
	    "%s", r->body);
	resp_free(r);
}

Test(documents, another_users_document_is_404_everywhere)
{
	static const char *const sub[] = {
		"", "/content", "/chunks", "/download", "/analysis", NULL
	};
	struct user	 w, o;
	struct resp	*r;
	char		 id[64], path[256];
	int		 i;

	fx_new(&w, "doc-");
	fx_new(&o, "doc-");
	upload_ok(&w, "mine.txt", "Private text.\n", 14, id, sizeof(id));
	for (i = 0; sub[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "/api/v1/documents/%s%s",
		    id, sub[i]);
		r = get(&o, path);
		cr_expect_eq(r->status, 404, "%s: %ld", path, r->status);
		cr_expect_str_eq(err_code(r), "not_found");
		resp_free(r);
	}
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analyze",
	    id);
	r = http_json("POST", path, o.token, "{\"analysis_type\":\"summary\"}");
	cr_expect_eq(r->status, 404, "%s", r->body);
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s", id);
	r = del(&o, path);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = get(&o, "/api/v1/documents");
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
	r = get(&w, path);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	r = get(&w, "/api/v1/documents/not-a-uuid");
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = http_get("/api/v1/documents");
	cr_expect_eq(r->status, 401);
	resp_free(r);
}

/* The disposition carries no raw control character nor extra quote. */
static void
check_disposition(const char *cd, const char *ext)
{
	const char	*p;

	cr_assert_not_null(cd);
	cr_expect(strncmp(cd, "attachment; filename=\"", 22) == 0, "%s", cd);
	for (p = cd; *p != '\0'; p++)
		cr_expect((unsigned char)*p >= 0x20 && *p != 0x7f,
		    "control character in %s", cd);
	cr_expect(strstr(cd, "filename*=UTF-8''") != NULL, "%s", cd);
	cr_expect(strstr(cd, ext) != NULL, "%s", cd);
	/* Exactly the quotes that open and close filename="...". */
	cr_expect_eq(strchr(strchr(strchr(cd, '"') + 1, '"') + 1, '"'),
	    NULL, "%s", cd);
}

Test(documents, download_returns_the_bytes_with_a_safe_disposition)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], path[256], *data, *v;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("three_pages.pdf", &len);
	/* Quotes, a percent sign, a tab, non-ASCII. */
	upload_ok(&w, "Vertrag \"final\" 100%\tü€.pdf", data, len, id,
	    sizeof(id));
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/download",
	    id);
	r = get(&w, path);
	cr_assert_eq(r->status, 200);
	cr_expect_eq(r->len, len);
	cr_expect(memcmp(r->body, data, len) == 0, "bytes differ");
	cr_expect_str_eq(resp_header(r, "content-type"), "application/pdf");
	check_disposition(resp_header(r, "content-disposition"),
	    "100%25%09%C3%BC%E2%82%AC.pdf");
	resp_free(r);

	/*
	 * A multipart header cannot carry CR or LF, but a stored name might
	 * (an older client, an import): it must not split the header.
	 */
	v = db_one("UPDATE documents SET original_filename = "
	    "E'evil\\r\\nX-Evil: 1\\r\\n\\r\\n<b>.pdf' WHERE id = $1::uuid "
	    "RETURNING id", id, NULL);
	free(v);
	r = get(&w, path);
	cr_assert_eq(r->status, 200);
	cr_expect_eq(r->len, len);
	cr_expect(resp_header(r, "x-evil") == NULL);
	check_disposition(resp_header(r, "content-disposition"),
	    "evil%0D%0AX-Evil");
	resp_free(r);
	free(data);
}

Test(documents, delete_removes_document_chunks_and_bytes)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], path[256], *v;

	fx_new(&w, "doc-");
	upload_ok(&w, "gone.txt", "To be deleted soon.\n", 20, id,
	    sizeof(id));
	r = wait_done(&w, id);
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s", id);
	r = del(&w, path);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.deleted_id"), id);
	resp_free(r);
	r = get(&w, path);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	v = db_one("SELECT (SELECT count(*) FROM document_chunks WHERE "
	    "document_id = $1::uuid) + (SELECT count(*) FROM document_blobs "
	    "WHERE document_id = $1::uuid)", id, NULL);
	cr_expect_str_eq(v, "0");
	free(v);
	v = db_one("SELECT count(*) FROM audit_events WHERE user_id = "
	    "$1::uuid AND event IN ('document_uploaded', 'document_deleted') "
	    "AND details->>'document_id' = $2", w.id, id);
	cr_expect_str_eq(v, "2");
	free(v);
}

Test(documents, list_filters_and_full_text_q)
{
	struct user	 w;
	struct resp	*r;
	char		 a[64], b[64], path[256];
	const char	*ta = "Clause 7.3.2 Termination: either party may "
			    "terminate this agreement with notice.\n";
	const char	*tb = "Clause 7.3.1 Payment: the buyer pays within "
			    "thirty days of the invoice.\n";

	fx_new(&w, "doc-");
	upload_ok(&w, "terminate.txt", ta, strlen(ta), a, sizeof(a));
	upload_ok(&w, "payment.txt", tb, strlen(tb), b, sizeof(b));
	resp_free(wait_done(&w, a));
	resp_free(wait_done(&w, b));

	r = get(&w, "/api/v1/documents?q=clause%207.3.2");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.total"), 1, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), a);
	resp_free(r);
	/* English stemming: "terminated" finds "terminate". */
	r = get(&w, "/api/v1/documents?q=terminated");
	cr_expect_eq(jint(r, "data.total"), 1, "%s", r->body);
	resp_free(r);
	r = get(&w, "/api/v1/documents?q=clause");
	cr_expect_eq(jint(r, "data.total"), 2);
	resp_free(r);
	r = get(&w, "/api/v1/documents?status=completed&limit=1");
	cr_expect_eq(jint(r, "data.total"), 2);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 1);
	cr_expect_eq(jint(r, "data.limit"), 1);
	resp_free(r);
	r = get(&w, "/api/v1/documents?status=failed");
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
	r = get(&w, "/api/v1/documents?status=bogus");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents?category=x");
	r = get(&w, path);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
}

Test(documents, category_field_is_stored_and_filters)
{
	struct user	 w;
	struct resp	*r;

	fx_new(&w, "doc-");
	r = fx_upload(NULL, &w, "nda.txt",
	    "Non-disclosure.\n", 16,
	    (const char *const[]){ "document_category", "nda", NULL });
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.document_category"), "nda");
	resp_free(r);
	r = get(&w, "/api/v1/documents?category=nda");
	cr_expect_eq(jint(r, "data.total"), 1, "%s", r->body);
	resp_free(r);
}

Test(documents, search_chunks_for_chat_ranks_exact_references)
{
	struct user	 w, o;
	char		 a[64], b[64], *v, arr[200];
	char		*data;
	size_t		 len;

	fx_new(&w, "doc-");
	fx_new(&o, "doc-");
	data = long_text(30, &len);
	upload_ok(&w, "clauses.txt", data, len, a, sizeof(a));
	upload_ok(&o, "clauses.txt", data, len, b, sizeof(b));
	free(data);
	resp_free(wait_done(&w, a));
	resp_free(wait_done(&o, b));
	(void)snprintf(arr, sizeof(arr), "{%s,%s}", a, b);
	/* The chunk holding clause 2.7.27, not its neighbours. */
	v = db_one("SELECT string_agg(document_id || ':' || "
	    "(content LIKE '%Clause 2.7.27 %')::text, ',') FROM "
	    "doc_search_chunks($1::uuid, $2::uuid[], 'what does clause "
	    "2.7.27 say', 3)", w.id, arr);
	cr_expect(strncmp(v, a, 36) == 0 && strstr(v, ":true") == v + 36,
	    "%s", v);
	cr_expect(strstr(v, b) == NULL, "another user's chunks: %s", v);
	free(v);
	/* No word to search for: the first chunks, in order. */
	v = db_one("SELECT string_agg(chunk_index::text, ',') FROM "
	    "doc_search_chunks($1::uuid, $2::uuid[], '?!', 2)", w.id, arr);
	cr_expect_str_eq(v, "0,1");
	free(v);
	/* Any word, when not all match. */
	v = db_one("SELECT count(*) FROM doc_search_chunks($1::uuid, "
	    "$2::uuid[], 'lessee xylophone', 4)", w.id, arr);
	cr_expect_str_eq(v, "4");
	free(v);
}

/* Poll the latest analysis until it is completed or failed. */
static struct resp *
wait_analysis(struct user *w, const char *id)
{
	struct resp	*r;
	const char	*st;
	char		 path[256];
	int		 i;

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analysis",
	    id);
	for (i = 0; i < PROCESS_WAIT_S * 10; i++) {
		r = get(w, path);
		cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
		st = jstr(r, "data.status");
		if (!strcmp(st, "completed") || !strcmp(st, "failed"))
			return (r);
		resp_free(r);
		(void)usleep(100000);
	}
	cr_assert_fail("analysis of %s not done", id);
	return (NULL);
}

static struct resp *
analyze(struct user *w, const char *id, const char *type)
{
	char	path[256], body[128];

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analyze",
	    id);
	(void)snprintf(body, sizeof(body), "{\"analysis_type\":\"%s\"}",
	    type);
	return (http_json("POST", path, w->token, body));
}

Test(documents, summary_and_classification_through_the_model)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *data, *v;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("three_pages.pdf", &len);
	upload_ok(&w, "lease.pdf", data, len, id, sizeof(id));
	free(data);
	resp_free(wait_done(&w, id));

	r = analyze(&w, id, "summary");
	cr_assert_eq(r->status, 202, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.status"), "pending");
	resp_free(r);
	r = wait_analysis(&w, id);
	cr_assert_str_eq(jstr(r, "data.status"), "completed", "%s", r->body);
	cr_expect(strncmp(jstr(r, "data.summary"), "Stand-in summary: Lease "
	    "Agreement", 33) == 0, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.model_used"), "gpt-test");
	cr_expect(jint(r, "data.usage.total_tokens") > 0);
	cr_expect(json_is_array(jpath(r->json, "data.key_clauses")));
	cr_expect(json_is_array(jpath(r->json, "data.risks")));
	resp_free(r);

	r = analyze(&w, id, "classification");
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
	r = wait_analysis(&w, id);
	cr_assert_str_eq(jstr(r, "data.status"), "completed", "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.document_category"), "lease");
	resp_free(r);
	r = get(&w, "/api/v1/documents?category=lease");
	cr_expect_eq(jint(r, "data.total"), 1, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.items.0.practice_area"),
	    "real_estate");
	cr_expect(json_array_size(jpath(r->json, "data.items.0.keywords"))
	    > 0);
	resp_free(r);
	v = db_one("SELECT count(*) FROM llm_calls WHERE user_id = $1::uuid "
	    "AND kind = 'analysis' AND status = 'ok' AND total_tokens > 0",
	    w.id, NULL);
	cr_expect_str_eq(v, "2");
	free(v);

	r = analyze(&w, id, "verdict");
	cr_expect_eq(r->status, 400);
	resp_free(r);
}

Test(documents, invalid_model_output_fails_the_analysis)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64];
	const char	*t = "A contract whose model answers junk [[json]].\n";

	fx_new(&w, "doc-");
	upload_ok(&w, "junk.txt", t, strlen(t), id, sizeof(id));
	resp_free(wait_done(&w, id));
	r = analyze(&w, id, "summary");
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
	r = wait_analysis(&w, id);
	cr_expect_str_eq(jstr(r, "data.status"), "failed", "%s", r->body);
	cr_expect(strstr(jstr(r, "data.error"), "invalid_model_output") !=
	    NULL, "%s", r->body);
	resp_free(r);
}

Test(documents, long_document_is_analysed_by_map_reduce, .timeout = 180)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *data, *v;
	size_t		 len;

	fx_new(&w, "doc-");
	data = long_text(600, &len);
	cr_assert(len > 100 * 1024);
	upload_ok(&w, "long.txt", data, len, id, sizeof(id));
	free(data);
	resp_free(wait_done(&w, id));
	r = analyze(&w, id, "risks");
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
	r = wait_analysis(&w, id);
	cr_assert_str_eq(jstr(r, "data.status"), "completed", "%s", r->body);
	cr_expect(json_array_size(jpath(r->json, "data.risks")) > 0);
	resp_free(r);
	v = db_one("SELECT (count(*) FILTER (WHERE kind = 'analysis_map') "
	    ">= 3 AND count(*) FILTER (WHERE kind = 'analysis') = 1)::text "
	    "FROM llm_calls WHERE user_id = $1::uuid", w.id, NULL);
	cr_expect_str_eq(v, "true", "map-reduce calls");
	free(v);
}

Test(documents, analysis_refused_over_quota_and_before_processing)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *v;

	fx_new(&w, "doc-");
	upload_ok(&w, "q.txt", "Quota text.\n", 12, id, sizeof(id));
	resp_free(wait_done(&w, id));
	v = db_one("WITH u AS (UPDATE users SET token_quota_daily = 100 "
	    "WHERE id = $1::uuid RETURNING id) INSERT INTO llm_calls "
	    "(user_id, kind, provider, model, total_tokens, status) "
	    "SELECT id, 'chat', 'openai', 'gpt-test', 100, 'ok' FROM u "
	    "RETURNING id", w.id, NULL);
	free(v);
	r = analyze(&w, id, "summary");
	cr_expect_eq(r->status, 429, "%s", r->body);
	cr_expect_str_eq(err_code(r), "quota_exceeded");
	cr_expect_not_null(resp_header(r, "retry-after"));
	resp_free(r);
	v = db_one("SELECT count(*) FROM document_analyses WHERE "
	    "document_id = $1::uuid", id, NULL);
	cr_expect_str_eq(v, "0");
	free(v);
}

Test(documents, own_instance_limits_and_no_ai, .timeout = 120)
{
	const char *const env[] = {
		"MAX_UPLOAD_BYTES=4096", "AI_PROVIDER=gemini",
		"GEMINI_API_KEY=", "JOBS_DISABLED=1", NULL
	};
	struct srv	 s;
	struct user	 w;
	struct resp	*r;
	char		 big[8192], path[256];

	fx_new(&w, "doc-");
	fx_srv_start(&s, env);
	memset(big, 'a', sizeof(big));
	r = fx_upload(s.base, &w, "big.txt", big, sizeof(big), NULL);
	cr_expect_eq(r->status, 413, "%ld %s", r->status, r->body);
	cr_expect_str_eq(err_code(r), "payload_too_large");
	resp_free(r);
	r = fx_upload(s.base, &w, "small.txt", big, 4000, NULL);
	cr_expect_eq(r->status, 201, "%ld %s", r->status, r->body);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analyze",
	    jstr(r, "data.id"));
	resp_free(r);
	r = fx_call_at(s.base, "POST", &w, "{\"analysis_type\":\"summary\"}",
	    "%s", path);
	cr_expect_eq(r->status, 503, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_not_configured");
	resp_free(r);
	fx_srv_stop(&s);
}

Test(documents, chat_citations_point_at_real_chunks)
{
	struct user	 w;
	struct resp	*r, *c;
	json_t		*cit;
	char		 id[64], path[256], body[512], *data;
	const char	*content;
	size_t		 len, b0, b1;

	fx_new(&w, "doc-");
	data = long_text(30, &len);
	upload_ok(&w, "clauses.txt", data, len, id, sizeof(id));
	free(data);
	resp_free(wait_done(&w, id));
	(void)snprintf(body, sizeof(body), "{\"content\": \"What does clause "
	    "2.7.27 say?\", \"document_ids\": [\"%s\"]}", id);
	r = http_json("POST", "/api/v1/chat", w.token, body);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cit = jpath(r->json, "data.citations.0");
	cr_assert_not_null(cit, "no citations: %s", r->body);
	cr_expect_str_eq(json_string_value(json_object_get(cit,
	    "document_id")), id);
	/* The best citation is the chunk that holds clause 2.7.27. */
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/content",
	    id);
	c = get(&w, path);
	content = jstr(c, "data.content");
	b0 = cp_to_byte(content, strlen(content), (size_t)json_integer_value(
	    json_object_get(cit, "start_char")));
	b1 = cp_to_byte(content, strlen(content), (size_t)json_integer_value(
	    json_object_get(cit, "end_char")));
	cr_expect(b1 > b0);
	cr_expect(memmem(content + b0, b1 - b0, "Clause 2.7.27 ", 14) != NULL,
	    "citation %zu..%zu does not hold the clause", b0, b1);
	resp_free(c);
	resp_free(r);
}

Test(documents, large_upload_passes_through_the_disk_offload, .timeout = 120)
{
	time_t		 t0;
	struct user	 w;
	struct resp	*r;
	char		 id[64], path[256], *data;
	size_t		 len;

	fx_new(&w, "doc-");
	data = long_text(12000, &len);
	cr_assert(len > 2 * 1024 * 1024);
	r = fx_upload(NULL, &w, "big.txt", data, len, NULL);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	(void)fprintf(stderr, "measure: upload of %zu bytes: %.3f s\n", len,
	    r->seconds);
	resp_free(r);
	t0 = time(NULL);
	r = wait_done(&w, id);
	(void)fprintf(stderr, "measure: processing of %zu bytes: ~%ld s\n",
	    len, (long)(time(NULL) - t0));
	cr_expect_str_eq(jstr(r, "data.processing_status"), "completed");
	cr_expect(jint(r, "data.chunk_count") > 2000);
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/download",
	    id);
	r = get(&w, path);
	cr_assert_eq(r->status, 200);
	cr_expect_eq(r->len, len);
	cr_expect(memcmp(r->body, data, len) == 0);
	(void)fprintf(stderr, "measure: download of %zu bytes: %.3f s\n",
	    len, r->seconds);
	resp_free(r);
	free(data);
}

/*
 * A document that exhausts the extractor's resources (endless.pdf: CPU
 * time, or memory first with some poppler versions) ends failed with a
 * clear error after one attempt: retrying it spent the same again, three
 * times, while other users' documents waited.
 */
Test(documents, resource_exhaustion_is_final_without_retries)
{
	struct user	 w;
	struct resp	*r;
	char		 id[64], *data, *v;
	const char	*e;
	size_t		 len;

	fx_new(&w, "doc-");
	data = fixture("endless.pdf", &len);
	upload_ok(&w, "endless.pdf", data, len, id, sizeof(id));
	free(data);
	r = wait_done(&w, id);
	cr_expect_str_eq(jstr(r, "data.processing_status"), "failed", "%s",
	    r->body);
	e = jstr(r, "data.processing_error");
	cr_expect(e != NULL && (strstr(e, "CPU time") != NULL ||
	    strstr(e, "out of memory") != NULL ||
	    strstr(e, "longer than") != NULL), "unclear error: %s",
	    e ? e : "(none)");
	resp_free(r);
	v = db_one("SELECT count(*) FROM job_runs r JOIN jobs j ON "
	    "j.id = r.job_id WHERE j.kind = 'document_process' AND "
	    "j.payload->>'document_id' = $1", id, NULL);
	cr_expect_str_eq(v, "1", "the document was extracted %s times", v);
	free(v);
	v = db_one("SELECT status FROM jobs WHERE kind = 'document_process' "
	    "AND payload->>'document_id' = $1", id, NULL);
	cr_expect_str_eq(v, "failed");
	free(v);
}
