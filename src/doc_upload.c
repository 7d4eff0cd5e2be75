/*
 * POST /api/v1/documents: a multipart upload (field "file", optional
 * document_category, jurisdiction, practice_area).  The type is decided
 * by content (lib/sniff.h); the bytes go to PostgreSQL as a binary
 * parameter together with the document row, the processing job and the
 * audit row, in one statement.  Kore keeps bodies past
 * http_body_disk_offload in a temporary file, so the upload is in memory
 * once while it is hashed and sent.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "documents.h"
#include "query.h"
#include "audit.h"
#include "lib/sniff.h"

/* Multipart framing tolerated beyond MAX_UPLOAD_BYTES before reading. */
#define DOC_MULTIPART_SLACK	(64 * 1024)

struct up_state {
	u_int8_t		*data;
	size_t			 len;
	struct sniff_info	 si;
	const char		*cat;		/* the optional fields */
	const char		*jur;
	const char		*area;
	char			 name[DOC_FILENAME_MAX + 1];
	char			 orig[DOC_FILENAME_MAX * 4 + 1];
};

static int	up_form(struct http_request *, struct rq *,
		    struct up_state *, struct http_file **);
static int	up_read(struct http_request *, struct rq *,
		    struct up_state *);
static int	up_sniff(struct http_request *, struct rq *,
		    struct up_state *);
static void	up_insert(struct http_request *, struct rq *,
		    struct up_state *);
static int	up_answer(struct http_request *, struct rq *);
static int	up_too_large(struct http_request *, struct rq *);
static void	up_free(void *);
static const char *up_field(struct http_request *, const char *);
/*
 * $1 user, $2 filename, $3 original name, $4 file_type, $5 mime,
 * $6 size, $7 sha256, $8-$10 category, jurisdiction, practice area,
 * $11 bytes (binary), $12 queue, $13 max attempts, $14 ip, $15 agent.
 */
static const char sql_upload[] =
    "WITH dup AS (SELECT id FROM documents WHERE user_id = $1 "
    "AND content_hash = $7 ORDER BY created_at LIMIT 1), "
    "d AS (INSERT INTO documents (user_id, filename, original_filename, "
    "file_type, mime_type, file_size, content_hash, document_category, "
    "jurisdiction, practice_area) VALUES ($1, $2, $3, $4, $5, $6::bigint, "
    "$7, $8, $9, $10) RETURNING *), "
    "b AS (INSERT INTO document_blobs (document_id, data) "
    "SELECT id, $11::bytea FROM d), "
    "j AS (INSERT INTO jobs (kind, queue, payload, max_attempts) "
    "SELECT 'document_process', $12, jsonb_build_object('document_id', "
    "d.id::text, 'user_id', d.user_id::text), $13::int FROM d), "
    "a AS (" AUDIT_INSERT_FROM("d.user_id", "'document_uploaded'", "$14",
    "$15", "jsonb_build_object('document_id', d.id, 'filename', "
    "d.original_filename, 'file_type', d.file_type, 'file_size', "
    "d.file_size)", "d") ") "
    "SELECT document_json(d), (SELECT id FROM dup) FROM d";

/* Check the form, read the file, sniff its type, store, answer. */
int
doc_upload(struct http_request *req, struct rq *rq)
{
	struct up_state		*st;

	if (rq->step == 0) {
		st = rq_state(rq, sizeof(*st), up_free);
		if (!up_read(req, rq, st) || !up_sniff(req, rq, st))
			return (KORE_RESULT_OK);
		up_insert(req, rq, st);
		rq->step = 1;
	}
	return (up_answer(req, rq));
}

/*
 * The multipart form: the media type, the sizes, the optional fields and
 * the file name; *f the file.  0 when it has answered.
 */
static int
up_form(struct http_request *req, struct rq *rq, struct up_state *st,
    struct http_file **f)
{
	struct verr	 v;
	const char	*ct;

	ct = rq_header(req, "content-type");
	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0) {
		(void)rq_error(req, rq, 415, "unsupported_media_type",
		    "Upload as multipart/form-data with a field named file",
		    NULL);
		return (0);
	}
	if (req->content_length > cfg.max_upload_bytes + DOC_MULTIPART_SLACK)
		return (up_too_large(req, rq));

	/* Its text fields pass their validators or are refused (query.c). */
	http_populate_multipart_form(req);
	verr_init(&v);
	if ((*f = http_file_lookup(req, "file")) == NULL || (*f)->length == 0) {
		verr_add(&v, "file", "required", "a non-empty file is "
		    "required in the field named file");
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	if ((*f)->length > cfg.max_upload_bytes) {
		verr_clear(&v);
		return (up_too_large(req, rq));
	}
	(void)q_refused(req, &v);
	st->cat = up_field(req, "document_category");
	st->jur = up_field(req, "jurisdiction");
	st->area = up_field(req, "practice_area");
	sniff_filename((*f)->filename, DOC_FILENAME_MAX, st->name,
	    sizeof(st->name), st->orig, sizeof(st->orig));
	if (st->orig[0] == '\0')
		verr_add(&v, "file", "invalid_filename", "the file name must "
		    "be valid UTF-8 of at most %d bytes", DOC_FILENAME_MAX);
	if (verr_count(&v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/* The form checked and the file's bytes in st; 0 when it has answered. */
static int
up_read(struct http_request *req, struct rq *rq, struct up_state *st)
{
	struct http_file	*f;
	ssize_t			 n;

	if (!up_form(req, rq, st, &f))
		return (0);
	st->data = kore_malloc(f->length);
	http_file_rewind(f);
	while (st->len < f->length) {
		n = http_file_read(f, st->data + st->len,
		    f->length - st->len);
		if (n <= 0) {
			(void)rq_error(req, rq, 500, "internal_error",
			    "Internal error", NULL);
			return (0);
		}
		st->len += (size_t)n;
	}
	return (1);
}

/* The type by content (lib/sniff.h); 0 when it has answered. */
static int
up_sniff(struct http_request *req, struct rq *rq, struct up_state *st)
{
	struct verr	v;

	switch (sniff_detect(st->data, st->len, st->orig, &st->si)) {
	case SNIFF_OK:
		return (1);
	case SNIFF_EMPTY:
		verr_init(&v);
		verr_add(&v, "file", "empty", "the file is empty");
		(void)rq_invalid(req, rq, &v);
		return (0);
	default:
		(void)rq_error(req, rq, 415, "unsupported_media_type",
		    "Only PDF, DOCX, plain text and Markdown files are "
		    "accepted", json_pack("{s:s, s:s*}", "reason",
		    st->si.reason, "detected", st->si.file_type));
		return (0);
	}
}

/* One statement: the row, the bytes, the job and the audit. */
static void
up_insert(struct http_request *req, struct rq *rq, struct up_state *st)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	const char	*p[15];
	char		 hash[SHA256_DIGEST_LENGTH * 2 + 1];
	char		 size[24], att[16], ua[AUDIT_UA_SIZE];
	int		 lens[15], fmts[15], i;

	(void)SHA256(st->data, st->len, md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		(void)snprintf(hash + i * 2, 3, "%02x", md[i]);
	(void)snprintf(size, sizeof(size), "%zu", st->len);
	(void)snprintf(att, sizeof(att), "%d", cfg.job_max_attempts);
	memset(fmts, 0, sizeof(fmts));
	p[0] = rq->user.id;
	p[1] = st->name;
	p[2] = st->orig;
	p[3] = st->si.file_type;
	p[4] = st->si.mime;
	p[5] = size;
	p[6] = hash;
	p[7] = st->cat;
	p[8] = st->jur;
	p[9] = st->area;
	p[10] = (const char *)st->data;
	p[11] = cfg.job_queue;
	p[12] = att;
	p[13] = rq->ip;
	p[14] = audit_ua(req, ua, sizeof(ua));
	for (i = 0; i < 15; i++)
		lens[i] = p[i] != NULL ? (int)strlen(p[i]) : 0;
	lens[10] = (int)st->len;
	fmts[10] = 1;
	db_start_bin(req, &rq->q, sql_upload, 15, p, lens, fmts);
	/* db_start_bin has its own copy: keep one, not two. */
	kore_free(st->data);
	st->data = NULL;
}

/* The document; a file already uploaded is named in a warning. */
static int
up_answer(struct http_request *req, struct rq *rq)
{
	char		warn[64];
	int		r;

	if (!rq_polled(req, rq, &r))
		return (r);
	if (db_rows(&rq->q) != 1)
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal error", NULL));
	if (!db_isnull(&rq->q, 0, 1)) {
		(void)snprintf(warn, sizeof(warn), "duplicate_of:%s",
		    db_val(&rq->q, 0, 1));
		rq_warn(rq, warn);
	}
	return (rq_ok_raw(req, rq, 201, "Document uploaded",
	    db_val(&rq->q, 0, 0), (size_t)db_len(&rq->q, 0, 0)));
}

static int
up_too_large(struct http_request *req, struct rq *rq)
{
	(void)rq_error(req, rq, 413, "payload_too_large",
	    "The file is larger than the upload limit",
	    json_pack("{s:I}", "max_bytes", (json_int_t)cfg.max_upload_bytes));
	return (0);
}

static void
up_free(void *arg)
{
	struct up_state	*st = arg;

	if (st->data != NULL)
		kore_free(st->data);
	st->data = NULL;
}

/*
 * An optional text field, trimmed; NULL when absent or blank.  Its
 * validator has checked it: valid UTF-8, at most DOC_FIELD_MAX.
 */
static const char *
up_field(struct http_request *req, const char *key)
{
	char		*s, *t;

	if (!http_argument_get_string(req, key, &s))
		return (NULL);
	return (sniff_field(s, &t) > 0 ? t : NULL);
}

