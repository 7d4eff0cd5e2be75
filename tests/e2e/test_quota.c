/*
 * The daily token quota is reserved, not only checked: every provider
 * call (chat, analysis, workflow step) reserves an estimate of its
 * tokens atomically before it starts and settles it with the real usage
 * after, so concurrent calls cannot together spend past
 * token_quota_daily.  (The runner's own check before a workflow step is
 * in test_workflows.)
 */
#include <criterion/criterion.h>

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define CHATS		10
#define QUOTA		"20000"

/* One chat in a child process: exits 0 on 200, 1 on 429, 2 otherwise. */
static pid_t
fire(const char *token, const char *body)
{
	struct resp	*r;
	pid_t		 pid;
	int		 rc;

	if ((pid = fork()) != 0)
		return (pid);
	r = fx_req(NULL, "POST", "/api/v1/chat/chat", token, NULL, body);
	rc = r->status == 200 ? 0 : r->status == 429 ? 1 : 2;
	_exit(rc);
}

Test(quota, concurrent_chats_cannot_overshoot_the_daily_quota,
    .timeout = 120)
{
	struct user	 a;
	pid_t		 pid[CHATS];
	json_t		*b;
	char		*content, *body, *used;
	size_t		 i, n, off;
	int		 ok = 0, refused = 0, other = 0, st;

	fx_new(&a, "quota-race");
	(void)fx_sql("UPDATE users SET token_quota_daily = " QUOTA
	    " WHERE id = $1::uuid", a.id);
	/*
	 * Each chat spends about 4,200 tokens at the stand-in (a word is a
	 * token there): with the check alone, 10 at once would all pass and
	 * spend twice the quota.
	 */
	n = 4000;
	content = malloc(n * 6 + 64);
	off = 0;
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(content + off, "lorem ");
	(void)sprintf(content + off, "[[delay:1500]]");
	b = json_pack("{s:s}", "content", content);
	body = json_dumps(b, 0);
	json_decref(b);
	free(content);

	for (i = 0; i < CHATS; i++) {
		pid[i] = fire(a.token, body);
		cr_assert(pid[i] > 0);
	}
	for (i = 0; i < CHATS; i++) {
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
			refused++;
		else
			other++;
	}
	free(body);
	cr_expect_eq(other, 0, "neither 200 nor 429: %d", other);
	cr_expect(ok >= 1, "%d answered", ok);
	cr_expect(refused >= 1, "%d refused", refused);
	used = strdup(fx_sql("SELECT llm_tokens_today($1::uuid)", a.id));
	cr_expect(atol(used) > 0 && atol(used) <= atol(QUOTA),
	    "spent %s of " QUOTA " (%d answered, %d refused)", used, ok,
	    refused);
	free(used);
	/* Every reservation was settled. */
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM llm_reservations "
	    "WHERE user_id = $1::uuid", a.id), "0");
}
