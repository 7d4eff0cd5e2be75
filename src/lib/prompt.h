/*
 * The chat prompt: the legal-assistant system prompt, and the builder
 * that turns history, attached-document excerpts, user-given sources
 * and the new message into an llm_request within a size budget.
 */

#ifndef PROMPT_H
#define PROMPT_H

#include <stddef.h>

#include <jansson.h>

#include "llm.h"

/* Messages of history kept, newest last (docs/API.md: the last 10). */
#define PROMPT_MAX_HISTORY		10
/* Budget for everything sent (system prompt, context, history, user). */
#define PROMPT_MAX_BYTES		(160 * 1024)
#define PROMPT_MAX_EXCERPTS		20
#define PROMPT_MAX_EXCERPT_BYTES	6000
#define PROMPT_MAX_SOURCES		20
#define PROMPT_MAX_SOURCE_BYTES		1000
#define PROMPT_MAX_FILENAME_BYTES	255

enum prompt_rc {
	PROMPT_OK = 0,
	PROMPT_ERR_INVALID,	/* no user message, or a NULL where text
				   is required */
	PROMPT_ERR_TOO_LONG,	/* system prompt + user message alone
				   exceed PROMPT_MAX_BYTES */
	PROMPT_ERR_NOMEM
};

/* One retrieved chunk of an attached document. */
struct prompt_excerpt {
	const char	*filename;
	int		 chunk_index;
	int		 page_start;	/* 0: unknown */
	int		 page_end;	/* 0 or == page_start: one page */
	const char	*text;
};

struct prompt_input {
	const struct llm_msg		*history;	/* oldest first */
	size_t				 nhistory;
	const struct prompt_excerpt	*excerpts;	/* best first */
	size_t				 nexcerpts;
	const char *const		*sources;
	size_t				 nsources;
	const char			*user_message;
};

/*
 * A built prompt. req is ready for a codec once the caller sets model,
 * temperature, max_tokens, json_mode and stream. req.system points to
 * static text; history and user message contents are borrowed from the
 * prompt_input (keep them alive while req is used); the context block
 * and the message array are owned here: free with prompt_free().
 * Excerpts kept are excerpts[0 .. nexcerpts_used - 1], numbered [1]..;
 * the history kept is the last nhistory_used messages.
 */
struct prompt {
	struct llm_request	 req;
	struct llm_msg		*msgs;
	char			*context;
	size_t			 nhistory_used;
	size_t			 nexcerpts_used;
	size_t			 nsources_used;
	size_t			 bytes;
};

const char	*prompt_system(void);
int		 prompt_build(const struct prompt_input *, struct prompt *);
void		 prompt_free(struct prompt *);

/*
 * From the rows the database hands over (JSON arrays) to a prompt_input
 * and back to the answer.  Strings are borrowed from the rows: keep them
 * alive while the prompt is used.
 *
 * prompt_history_json: [{role, content}] oldest first, at most max.
 * prompt_excerpts_json: chunk rows ({content, filename, chunk_index,
 * page_start, page_end, …}) best first, at most max; a row without
 * content is skipped.
 * prompt_citations: the rows of the first nused excerpts kept (struct
 * prompt's nexcerpts_used): [{document_id, filename, chunk_index,
 * start_char, end_char, page_start, page_end}], each with a snippet of
 * the first `snippet` code points of its text when snippet > 0.  New
 * reference.
 */
size_t		 prompt_history_json(const json_t *, struct llm_msg *,
		    size_t max);
size_t		 prompt_excerpts_json(const json_t *,
		    struct prompt_excerpt *, size_t max);
json_t		*prompt_citations(const json_t *, size_t nused,
		    size_t snippet);

#endif
