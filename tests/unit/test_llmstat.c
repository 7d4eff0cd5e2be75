/*
 * Shared provider-call statistics: counts by outcome, tokens, the
 * latency histogram, one region seen through two mappings of its file
 * (the server and the job runner), and a file of another layout reset.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmstat.h"

static int
find(const struct llmstat *s, const char *prov, const char *model)
{
	int	i;

	for (i = 0; i < llmstat_count(s); i++) {
		if (!strcmp(s->e[i].provider, prov) &&
		    !strcmp(s->e[i].model, model))
			return (i);
	}
	return (-1);
}

Test(llmstat, counts_outcomes_tokens_and_latency)
{
	struct llmstat	*s;
	int		 i;

	s = llmstat_map(NULL);
	cr_assert_not_null(s);
	llmstat_add(s, "openai", "gpt-test", LLM_OK, 90, 10, 5);
	llmstat_add(s, "openai", "gpt-test", LLM_OK, 1500, 20, 7);
	llmstat_add(s, "openai", "gpt-test", LLM_ERR_TIMEOUT, 999999, 3, 3);
	llmstat_add(s, "gemini", "gemini-test", LLM_ERR_UPSTREAM_5XX, 250, 0,
	    0);
	cr_assert_eq(llmstat_count(s), 2);
	i = find(s, "openai", "gpt-test");
	cr_assert_geq(i, 0);
	cr_expect_eq(s->e[i].calls[LLM_OK], 2);
	cr_expect_eq(s->e[i].calls[LLM_ERR_TIMEOUT], 1);
	cr_expect_eq(s->e[i].prompt_tokens, 33);
	cr_expect_eq(s->e[i].completion_tokens, 15);
	cr_expect_eq(s->e[i].bucket[0], 1, "90 ms <= 100 ms");
	cr_expect_eq(s->e[i].bucket[4], 1, "1500 ms <= 2500 ms");
	cr_expect_eq(s->e[i].bucket[LLMSTAT_NBUCKET], 1, "+Inf");
	cr_expect_eq(s->e[i].ms_sum, 90 + 1500 + 999999);
	i = find(s, "gemini", "gemini-test");
	cr_expect_eq(s->e[i].calls[LLM_ERR_UPSTREAM_5XX], 1);
	cr_expect_eq(s->e[i].bucket[1], 1, "250 ms <= 250 ms");
}

Test(llmstat, a_full_table_keeps_counting)
{
	struct llmstat	*s;
	char		 m[32];
	uint64_t	 total;
	int		 i, j;

	s = llmstat_map(NULL);
	for (i = 0; i < LLMSTAT_ENTRIES + 10; i++) {
		(void)snprintf(m, sizeof(m), "m%d", i);
		llmstat_add(s, "openai", m, LLM_OK, 1, 1, 1);
	}
	cr_expect_eq(llmstat_count(s), LLMSTAT_ENTRIES);
	total = 0;
	for (j = 0; j < llmstat_count(s); j++)
		total += s->e[j].calls[LLM_OK];
	cr_expect_eq(total, LLMSTAT_ENTRIES + 10);
}

Test(llmstat, two_mappings_of_one_file_share_counts)
{
	struct llmstat	*a, *b;
	char		 path[] = "/tmp/llmstat-test-XXXXXX";
	FILE		*fp;
	int		 fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)close(fd);
	a = llmstat_map(path);
	b = llmstat_map(path);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	llmstat_add(a, "openai", "x", LLM_OK, 5, 1, 2);
	llmstat_add(b, "openai", "x", LLM_OK, 5, 1, 2);
	cr_expect_eq(llmstat_count(b), 1);
	cr_expect_eq(b->e[0].calls[LLM_OK], 2);
	cr_expect_eq(a->e[0].prompt_tokens, 2);

	/* Mapped again, counts survive; another layout is reset. */
	cr_expect_eq(llmstat_map(path)->e[0].calls[LLM_OK], 2);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	(void)fputs("not a stats file", fp);
	(void)fclose(fp);
	a = llmstat_map(path);
	cr_assert_not_null(a);
	cr_expect_eq(llmstat_count(a), 0);
	cr_expect_eq(a->magic, LLMSTAT_MAGIC);
	(void)unlink(path);
	cr_expect_null(llmstat_map("/nonexistent-dir/x/llmstat"));
}
