/*
 * Documents (docs/API.md §6): the handlers split over documents.c (reads,
 * delete, download), doc_upload.c (the multipart upload) and
 * doc_analysis.c (analysis requests).  The work itself runs in
 * elenchus-jobs (cmd/jobs/).
 */
#ifndef ELENCHUS_DOCUMENTS_H
#define ELENCHUS_DOCUMENTS_H

#include "rq.h"

/* Longest category, jurisdiction, practice area, in code points. */
/* Path segment of the document id: /api/v1/documents/{id}/… */
#define DOC_SEG_ID		3
#define DOC_FIELD_MAX		100
/* Longest file name kept, in bytes. */
#define DOC_FILENAME_MAX	255
/* Longest analysis instructions, in code points. */
#define DOC_INSTRUCTIONS_MAX	2000

int	doc_upload(struct http_request *, struct rq *);
int	doc_analyze(struct http_request *, struct rq *);
int	doc_analysis_get(struct http_request *, struct rq *);

#endif
