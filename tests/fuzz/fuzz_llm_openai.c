/* OpenAI chat completions: response bodies, streams, error bodies. */
#include "fuzz_llm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	return (fuzz_llm(llm_codec(LLM_PROVIDER_OPENAI), data, len));
}
