/*
 * Password jobs: bcrypt never runs on the event loop.  A handler copies
 * its inputs into a struct pwjob, runs it as a Kore task bound to the
 * request, and reads the outputs from the same memory once the task has
 * finished (nothing goes through the task channel).  A request that goes
 * away while its task runs leaves the job on an orphan list; Kore
 * destroys the task when it ends, and a sweep frees the memory after that.
 */
#include <sys/queue.h>
#include <sys/resource.h>

#include <string.h>

#include "cfg.h"
#include "pwjob.h"

#define PWJOB_NICE		19
#define PWJOB_SWEEP_MS		1000
#define PWJOB_PRIME_MS		100

TAILQ_HEAD(pwjob_list, pwjob);
static struct pwjob_list	pwjob_orphans =
    TAILQ_HEAD_INITIALIZER(pwjob_orphans);
static int			pwjob_sweeping;

static int	pwjob_run(struct kore_task *);
static void	pwjob_sweep(void *, u_int64_t);
static void	pwjob_prime(void *, u_int64_t);
static void	pwjob_prime_done(struct kore_task *);

void
pwjob_init(void)
{
	(void)kore_timer_add(pwjob_prime, PWJOB_PRIME_MS, NULL,
	    KORE_TIMER_ONESHOT);
}

void
pwjob_abandon(struct pwjob **slot)
{
	if (*slot == NULL)
		return;
	if (kore_task_finished(&(*slot)->t)) {
		pwjob_release(slot);
		return;
	}
	/* Kore destroys the task when it ends (the request is deleted). */
	TAILQ_INSERT_TAIL(&pwjob_orphans, *slot, list);
	*slot = NULL;
	if (!pwjob_sweeping) {
		pwjob_sweeping = 1;
		(void)kore_timer_add(pwjob_sweep, PWJOB_SWEEP_MS, NULL,
		    KORE_TIMER_ONESHOT);
	}
}

struct pwjob *
pwjob_start(struct http_request *req, struct pwjob **slot, enum pwjob_op op,
    const char *pw, const char *pw2, const char *hash)
{
	struct pwjob	*j;

	if (*slot != NULL)
		pwjob_release(slot);
	j = kore_calloc(1, sizeof(*j));
	j->op = op;
	j->cost = cfg.bcrypt_cost;
	if (pw != NULL)
		(void)kore_strlcpy(j->pw, pw, sizeof(j->pw));
	if (pw2 != NULL)
		(void)kore_strlcpy(j->pw2, pw2, sizeof(j->pw2));
	if (hash != NULL)
		(void)kore_strlcpy(j->hash, hash, sizeof(j->hash));
	*slot = j;
	kore_task_create(&j->t, pwjob_run);
	kore_task_bind_request(&j->t, req);
	kore_task_run(&j->t);
	return (j);
}

/* 1 once the job has finished; else the request sleeps until it does. */
int
pwjob_done(struct http_request *req, struct pwjob **slot)
{
	if (*slot == NULL)
		return (1);
	if (kore_task_finished(&(*slot)->t))
		return (1);
	http_request_sleep(req);
	return (0);
}

void
pwjob_release(struct pwjob **slot)
{
	struct pwjob	*j;

	if ((j = *slot) == NULL)
		return;
	*slot = NULL;
	kore_task_destroy(&j->t);
	explicit_bzero(j->pw, sizeof(j->pw));
	explicit_bzero(j->pw2, sizeof(j->pw2));
	kore_free(j);
}

/*
 * Task thread: bcrypt into the job's own memory.  The thread runs at the
 * lowest priority (nice 19, per thread on Linux) so that a login flood
 * takes mostly the CPU the event loops leave, yet still progresses when
 * they are saturated.
 */
static int
pwjob_run(struct kore_task *t)
{
	static __thread int	 niced;
	struct pwjob		*j = (struct pwjob *)t;
	const char		*h;

	if (!niced) {
		niced = 1;
		(void)setpriority(PRIO_PROCESS, 0, PWJOB_NICE);
	}

	switch (j->op) {
	case PWJOB_PRIME:
		j->err = passwd_dummy_hash(j->cost) == NULL;
		break;
	case PWJOB_HASH:
		j->err = passwd_hash(j->pw, j->cost, j->out,
		    sizeof(j->out)) != 0;
		break;
	case PWJOB_VERIFY:
		h = j->hash[0] != '\0' ? j->hash : passwd_dummy_hash(j->cost);
		j->ok = h != NULL && passwd_verify(j->pw, h);
		if (j->ok && j->hash[0] != '\0' &&
		    passwd_hash_cost(j->hash) != j->cost &&
		    passwd_hash(j->pw, j->cost, j->out, sizeof(j->out)) != 0)
			j->out[0] = '\0';
		break;
	case PWJOB_CHANGE:
		j->ok = passwd_verify(j->pw, j->hash);
		if (j->ok)
			j->err = passwd_hash(j->pw2, j->cost, j->out,
			    sizeof(j->out)) != 0;
		break;
	}
	return (KORE_RESULT_OK);
}

/* Free orphaned jobs whose task Kore has destroyed (its fds closed). */
static void
pwjob_sweep(void *arg, u_int64_t now)
{
	struct pwjob	*j, *next;

	(void)arg;
	(void)now;
	for (j = TAILQ_FIRST(&pwjob_orphans); j != NULL; j = next) {
		next = TAILQ_NEXT(j, list);
		if (j->t.fds[0] != -1)
			continue;
		TAILQ_REMOVE(&pwjob_orphans, j, list);
		explicit_bzero(j->pw, sizeof(j->pw));
		explicit_bzero(j->pw2, sizeof(j->pw2));
		kore_free(j);
	}
	pwjob_sweeping = !TAILQ_EMPTY(&pwjob_orphans);
	if (pwjob_sweeping)
		(void)kore_timer_add(pwjob_sweep, PWJOB_SWEEP_MS, NULL,
		    KORE_TIMER_ONESHOT);
}

/* Make the dummy hash once per worker, off the loop. */
static void
pwjob_prime(void *arg, u_int64_t now)
{
	struct pwjob	*j;

	(void)arg;
	(void)now;
	j = kore_calloc(1, sizeof(*j));
	j->op = PWJOB_PRIME;
	j->cost = cfg.bcrypt_cost;
	kore_task_create(&j->t, pwjob_run);
	kore_task_bind_callback(&j->t, pwjob_prime_done);
	kore_task_run(&j->t);
}

static void
pwjob_prime_done(struct kore_task *t)
{
	if (!kore_task_finished(t))
		return;
	kore_task_destroy(t);
	kore_free(t);
}
