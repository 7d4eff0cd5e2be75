/*
 * Password jobs: bcrypt never runs on the event loop.  A handler copies
 * its inputs into a struct pwjob, runs it as a Kore task bound to the
 * request, and reads the outputs from the same memory once the task has
 * finished (nothing goes through the task channel).  A request that goes
 * away while its task runs leaves the job on an orphan list; Kore
 * destroys the task when it ends, and a sweep frees the memory after that.
 *
 * A login flood must not slow the event loops (measured with make bench:
 * /health p99 during a flood of 16 logins, docs/SCALING.md).  Two things
 * keep it so.  At most PWJOB_CAP hashes run at once per worker (one a
 * worker on a machine with as many cores as workers): the other jobs wait
 * in their task thread, asleep, instead of sixteen bcrypt threads taking
 * turns on the cores.  And the hash itself runs in a short-lived thread
 * under SCHED_IDLE, which the kernel preempts as soon as any normal
 * thread wants the core.  Only that thread is SCHED_IDLE: the task thread
 * runs Kore's task code (locks the event loop takes too) at normal
 * priority, so the loop never waits for a starved thread to let go of a
 * lock, and an unprivileged thread could not come back from SCHED_IDLE.
 */
#define _GNU_SOURCE		/* SCHED_IDLE */

#include <sys/queue.h>

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <string.h>

#include "cfg.h"
#include "pwjob.h"

#define PWJOB_SWEEP_MS		1000
#define PWJOB_PRIME_MS		100

TAILQ_HEAD(pwjob_list, pwjob);
static struct pwjob_list	pwjob_orphans =
    TAILQ_HEAD_INITIALIZER(pwjob_orphans);
static int			pwjob_sweeping;
static sem_t			pwjob_slots;

static void	pwjob_compute(struct pwjob *);
static void	*pwjob_idle(void *);

static int	pwjob_run(struct kore_task *);
static void	pwjob_sweep(void *, u_int64_t);
static void	pwjob_prime(void *, u_int64_t);
static void	pwjob_prime_done(struct kore_task *);

void
pwjob_init(void)
{
	unsigned int	cap;

	/* (cores - 1) hashes per instance, at least one per worker. */
	cap = worker_count > 0 ? (cpu_count - 1) / worker_count : 1;
	if (cap < 1)
		cap = 1;
	if (sem_init(&pwjob_slots, 0, cap) == -1)
		fatal("pwjob: sem_init: %s", errno_s);
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
 * Task thread: wait for a slot, then hash in a SCHED_IDLE thread of its
 * own (in this one, at its priority, if no thread can be made).
 */
static int
pwjob_run(struct kore_task *t)
{
	struct pwjob	*j = (struct pwjob *)t;
	pthread_t	 th;

	while (sem_wait(&pwjob_slots) == -1)
		;	/* EINTR */
	if (pthread_create(&th, NULL, pwjob_idle, j) == 0)
		(void)pthread_join(th, NULL);
	else
		pwjob_compute(j);
	(void)sem_post(&pwjob_slots);
	return (KORE_RESULT_OK);
}

static void *
pwjob_idle(void *arg)
{
	struct sched_param	sp;

	memset(&sp, 0, sizeof(sp));
	(void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	pwjob_compute(arg);
	return (NULL);
}

/* bcrypt into the job's own memory. */
static void
pwjob_compute(struct pwjob *j)
{
	const char	*h;

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
