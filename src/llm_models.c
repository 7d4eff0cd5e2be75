/*
 * The models on offer (docs/API.md §5): each provider's configured
 * default (GEMINI_MODEL, OPENAI_MODEL) and the others it may be asked
 * for (GEMINI_MODELS, OPENAI_MODELS), and GET /api/v1/chat/models, which
 * lists them for the providers that are configured.
 */
#include <string.h>

#include "rq.h"
#include "llm_models.h"

#define LLM_MODEL_LIST_SEP	", "

static int	llm_models_get(struct http_request *, struct rq *);
static json_t	*llm_models_json(enum llm_provider);
static const char *llm_models_list(enum llm_provider);
static size_t	llm_models_word(const char **, const char **);

ROUTE(page_chat_models, "/api/v1/chat/models",
    { HTTP_METHOD_GET, llm_models_get, RQ_USER })

const char *
llm_default_model(enum llm_provider p)
{
	return (p == LLM_PROVIDER_GEMINI ? cfg.gemini_model :
	    cfg.openai_model);
}

int
llm_model_allowed(enum llm_provider p, const char *model)
{
	const char	*list, *w;
	size_t		 n;

	if (model == NULL || *model == '\0')
		return (0);
	if (!strcmp(model, llm_default_model(p)))
		return (1);
	list = llm_models_list(p);
	while ((n = llm_models_word(&list, &w)) > 0) {
		if (n == strlen(model) && !strncmp(w, model, n))
			return (1);
	}
	return (0);
}

static int
llm_models_get(struct http_request *req, struct rq *rq)
{
	json_t		*providers, *data;
	int		 dflt_ok;

	providers = json_array();
	if (config_ai_configured(&cfg, "openai"))
		(void)json_array_append_new(providers,
		    llm_models_json(LLM_PROVIDER_OPENAI));
	if (config_ai_configured(&cfg, "gemini"))
		(void)json_array_append_new(providers,
		    llm_models_json(LLM_PROVIDER_GEMINI));
	dflt_ok = config_ai_configured(&cfg, cfg.ai_provider);
	data = json_pack("{s:b, s:s?, s:o}", "configured",
	    json_array_size(providers) > 0, "default_provider",
	    dflt_ok ? cfg.ai_provider : NULL, "providers", providers);
	return (rq_ok(req, rq, 200, "Models", data));
}

/* {name, default_model, models}: the default first, then the list. */
static json_t *
llm_models_json(enum llm_provider p)
{
	const char	*list, *dflt, *w;
	json_t		*models, *m;
	char		 word[LLM_MAX_MODEL_LEN + 1];
	size_t		 n;

	dflt = llm_default_model(p);
	list = llm_models_list(p);
	models = json_array();
	(void)json_array_append_new(models, json_string(dflt));
	while ((n = llm_models_word(&list, &w)) > 0) {
		if (n >= sizeof(word))
			continue;
		memcpy(word, w, n);
		word[n] = '\0';
		/* json_string refuses what is not UTF-8. */
		if (strcmp(word, dflt) && (m = json_string(word)) != NULL)
			(void)json_array_append_new(models, m);
	}
	return (json_pack("{s:s, s:s, s:o}", "name",
	    llm_codec(p)->name, "default_model", dflt, "models", models));
}

static const char *
llm_models_list(enum llm_provider p)
{
	return (p == LLM_PROVIDER_GEMINI ? cfg.gemini_models :
	    cfg.openai_models);
}

/* The next word of list (*w, its length; 0 at the end); moves *list. */
static size_t
llm_models_word(const char **list, const char **w)
{
	size_t		n;

	*list += strspn(*list, LLM_MODEL_LIST_SEP);
	n = strcspn(*list, LLM_MODEL_LIST_SEP);
	*w = *list;
	*list += n;
	return (n);
}
