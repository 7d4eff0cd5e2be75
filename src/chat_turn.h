/*
 * A chat turn (src/chat.c) once its provider call is set up: the call,
 * the storing of its outcome, and the answer.  The turn outlives its
 * request and is reference counted: one reference for the request, one
 * for the provider call and the storing that follows it.
 */
#ifndef ELENCHUS_CHAT_TURN_H
#define ELENCHUS_CHAT_TURN_H

#include <jansson.h>

#include "rq.h"
#include "chat.h"
#include "llm_client.h"
#include "tracing.h"

enum chat_phase {
	CHAT_CALLING = 0,	/* provider call running */
	CHAT_STORING,		/* answer (or failure) being stored */
	CHAT_STORED
};

struct chat_turn {
	int			 refs;
	struct http_request	*req;		/* NULL once it is gone */
	struct llm_job		*job;
	enum chat_phase		 phase;
	int			 stream;
	int			 sse_open;
	int			 circuit;	/* circuit.h id */
	int			 probe;		/* the half-open probe */
	int			 store_ok;
	enum llm_err		 code;
	char			 user_id[40];
	char			 conv_id[40];
	char			 umsg_id[40];
	char			 trace[RQ_ID_MAX + 1];
	char			 provider[16];
	char			 model[LLM_MAX_MODEL_LEN + 1];
	char			 resv[CHAT_NUM];	/* quota reservation */
	json_t			*user_message;
	json_t			*citations;
	json_t			*message;	/* the stored answer */
	struct otel_ctx		 span_parent;	/* the request's span */
	u_int64_t		 start_ns;
	char			*prompt;	/* for the span, when captured */
};

/* Start the call (the SSE headers first when streaming). */
void	chat_turn_submit(struct http_request *, struct rq *,
	    struct chat_turn *);
/*
 * Store the outcome (job NULL: the call never started, t->code says
 * why) with a query of its own: the request may be gone already.
 */
void	chat_turn_store(struct chat_turn *, struct llm_job *);
/* Answer the request once the outcome is stored. */
int	chat_turn_answer(struct http_request *, struct rq *,
	    struct chat_turn *);
void	chat_turn_unref(struct chat_turn *);

#endif
