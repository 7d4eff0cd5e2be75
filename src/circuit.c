/*
 * Circuit breakers in shared memory: one per dependency, updated under a
 * spin lock by whichever worker makes or refuses a call, so a provider
 * that fails for one worker is refused by all of them.  Settings:
 * BREAKER_THRESHOLD consecutive failures open a breaker for
 * BREAKER_OPEN_S seconds.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "circuit.h"
#include "lib/breaker.h"

struct circuit_shm {
	volatile int	lock;
	struct breaker	b[CIRCUIT_COUNT];
};

static const char *const circuit_names[CIRCUIT_COUNT] = {
	"gemini", "openai", "sms"
};

static struct circuit_shm	*shm;

static void	circuit_policy(struct breaker_policy *);
static int64_t	circuit_now_ms(void);
static void	circuit_lock(void);
static void	circuit_unlock(void);

void
circuit_init(void)
{
	void		*p;

	p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("circuit: mmap: %s", errno_s);
	shm = p;
	memset(shm, 0, sizeof(*shm));
}

int
circuit_allow(int id, int *probe, int *retry_s)
{
	struct breaker_policy	pol;
	int64_t			retry_ms;
	int			v;

	*probe = 0;
	*retry_s = 0;
	if (shm == NULL || id < 0 || id >= CIRCUIT_COUNT)
		return (1);
	circuit_policy(&pol);
	circuit_lock();
	v = breaker_allow(&shm->b[id], &pol, circuit_now_ms(), &retry_ms);
	circuit_unlock();
	if (v == BREAKER_REJECT) {
		*retry_s = (int)((retry_ms + 999) / 1000);
		if (*retry_s < 1)
			*retry_s = 1;
		return (0);
	}
	*probe = v == BREAKER_PROBE;
	if (*probe)
		kore_log(LOG_NOTICE, "circuit %s: half-open, probing",
		    circuit_names[id]);
	return (1);
}

void
circuit_record(int id, int ok, int probe)
{
	struct breaker_policy	pol;
	int			before, after;

	if (shm == NULL || id < 0 || id >= CIRCUIT_COUNT)
		return;
	circuit_policy(&pol);
	circuit_lock();
	before = shm->b[id].state;
	breaker_record(&shm->b[id], &pol, ok, probe, circuit_now_ms());
	after = shm->b[id].state;
	circuit_unlock();
	if (before != after)
		kore_log(LOG_NOTICE, "circuit %s: %s -> %s", circuit_names[id],
		    breaker_state_name(before), breaker_state_name(after));
}

int
circuit_llm(enum llm_provider p)
{
	return (p == LLM_PROVIDER_GEMINI ? CIRCUIT_GEMINI : CIRCUIT_OPENAI);
}

/* Whether an outcome counts: lib/llm.c decides, for the runner too. */
int
circuit_llm_ok(enum llm_err e)
{
	return (!llm_err_provider_down(e));
}

json_t *
circuit_json(void)
{
	struct breaker_policy	pol;
	struct breaker		b[CIRCUIT_COUNT];
	json_t			*o;
	int64_t			now, left;
	int			i;

	o = json_object();
	if (shm == NULL)
		return (o);
	circuit_policy(&pol);
	circuit_lock();
	memcpy(b, shm->b, sizeof(b));
	circuit_unlock();
	now = circuit_now_ms();
	for (i = 0; i < CIRCUIT_COUNT; i++) {
		left = 0;
		if (b[i].state == BREAKER_OPEN)
			left = b[i].opened_ms + pol.open_ms - now;
		(void)json_object_set_new(o, circuit_names[i], json_pack(
		    "{s:s, s:i, s:I, s:I, s:I, s:i, s:I}",
		    "state", breaker_state_name(b[i].state),
		    "consecutive_failures", b[i].failures,
		    "opens", (json_int_t)b[i].opens,
		    "rejected", (json_int_t)b[i].rejected,
		    "retry_after_s", (json_int_t)(left > 0 ?
		    (left + 999) / 1000 : 0),
		    "threshold", pol.threshold,
		    "open_s", (json_int_t)(pol.open_ms / 1000)));
	}
	return (o);
}

void
circuit_render(struct kore_buf *buf)
{
	struct breaker	b[CIRCUIT_COUNT];
	int		i;

	if (shm == NULL)
		return;
	circuit_lock();
	memcpy(b, shm->b, sizeof(b));
	circuit_unlock();
	kore_buf_appendf(buf, "# HELP elenchus_circuit_state Circuit breaker "
	    "state (0 closed, 1 open, 2 half-open).\n"
	    "# TYPE elenchus_circuit_state gauge\n");
	for (i = 0; i < CIRCUIT_COUNT; i++)
		kore_buf_appendf(buf, "elenchus_circuit_state{dependency=\"%s\"} "
		    "%d\n", circuit_names[i], b[i].state);
	kore_buf_appendf(buf, "# HELP elenchus_circuit_opens_total Times a "
	    "breaker opened.\n# TYPE elenchus_circuit_opens_total counter\n");
	for (i = 0; i < CIRCUIT_COUNT; i++)
		kore_buf_appendf(buf, "elenchus_circuit_opens_total"
		    "{dependency=\"%s\"} %llu\n", circuit_names[i],
		    (unsigned long long)b[i].opens);
	kore_buf_appendf(buf, "# HELP elenchus_circuit_rejected_total Calls "
	    "refused while open.\n"
	    "# TYPE elenchus_circuit_rejected_total counter\n");
	for (i = 0; i < CIRCUIT_COUNT; i++)
		kore_buf_appendf(buf, "elenchus_circuit_rejected_total"
		    "{dependency=\"%s\"} %llu\n", circuit_names[i],
		    (unsigned long long)b[i].rejected);
}

static void
circuit_policy(struct breaker_policy *p)
{
	breaker_policy_init(p, cfg.breaker_threshold, cfg.breaker_open_s,
	    cfg.ai_timeout_s);
}

static int64_t
circuit_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
circuit_lock(void)
{
	while (__atomic_exchange_n(&shm->lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
circuit_unlock(void)
{
	__atomic_store_n(&shm->lock, 0, __ATOMIC_RELEASE);
}
