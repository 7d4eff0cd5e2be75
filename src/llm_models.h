/*
 * The models on offer: each provider's configured default and its
 * *_MODELS list (comma or blank separated), and GET /api/v1/chat/models.
 */
#ifndef ELENCHUS_LLM_MODELS_H
#define ELENCHUS_LLM_MODELS_H

#include "lib/llm.h"

/* The model the configuration gives a provider by default. */
const char	*llm_default_model(enum llm_provider);
/* Whether model may be asked of provider (default or *_MODELS list). */
int		 llm_model_allowed(enum llm_provider, const char *);

#endif
