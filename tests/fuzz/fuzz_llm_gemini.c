/* Gemini generateContent: response bodies, streams, error bodies. */
#include "fuzz_llm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s;

	/* The retry delay of an error ("1.5s") is parsed on its own. */
	if (len > 0 && data[0] == 'D') {
		s = fuzz_str(data + 1, len - 1);
		(void)llm_gemini_parse_duration(s);
		free(s);
		return (0);
	}
	return (fuzz_llm(llm_codec(LLM_PROVIDER_GEMINI), data, len));
}
