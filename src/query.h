/*
 * Query strings and form fields, as kore.conf declares them.
 *
 * kore.conf binds every parameter a route reads to a validator in a
 * `params` block.  A value its validator accepts is kept where
 * http_argument_get finds it; a refused one is recorded on the request
 * with its field, issue and message, and the handler adds it to its 400
 * (q_refused), so every bad field is listed.  A parameter no block binds
 * is ignored, as an unknown JSON field is.
 */
#ifndef ELENCHUS_QUERY_H
#define ELENCHUS_QUERY_H

#include "rq_ctx.h"

#define Q_LIMIT_DEFAULT		50

/* Adds the refused query and form fields to v; returns their number. */
int		 q_refused(struct http_request *, struct verr *);
/* 1 when no field was refused; else the 400 is sent and 0 back. */
int		 q_valid(struct http_request *, struct rq *);

/* A parameter's accepted value; NULL when absent or empty. */
const char	*q_get(struct http_request *, const char *);

/*
 * The index in allowed (NULL-terminated) of a parameter's value, def
 * when absent.  A value its validator let through that is not in
 * allowed (kore.conf and the code disagree) is added to v.
 */
int		 q_choice(struct http_request *, struct verr *, const char *,
		    const char *const *, int);

/* true/1 → 1, false/0 → 0, absent → def. */
int		 q_bool(struct http_request *, const char *, int);

/* ?limit= (default 50) and ?offset= or its alias ?skip= (default 0). */
void		 q_paging(struct http_request *, int *, int *);
void		 q_paging_text(struct http_request *, char [RQ_NUM],
		    char [RQ_NUM]);
/* q_paging_text; when a field was refused the 400 is sent and 0 back. */
int		 q_page_text(struct http_request *, struct rq *,
		    char [RQ_NUM], char [RQ_NUM]);
/* A handler answering a page of the caller's rows (user id, limit, offset). */
int		 q_user_page(struct http_request *, struct rq *, const char *,
		    const char *);

/* The function validators kore.conf names (Kore's signature). */
int		 v_search(struct http_request *, const void *);
int		 v_doc_q(struct http_request *, const void *);
int		 v_utf8(struct http_request *, const void *);
int		 v_username(struct http_request *, const void *);
int		 v_document_category(struct http_request *, const void *);
int		 v_jurisdiction(struct http_request *, const void *);
int		 v_practice_area(struct http_request *, const void *);

#endif
