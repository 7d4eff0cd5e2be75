/*
 * Shared provider-call statistics (see llmstat.h).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "llmstat.h"

const uint64_t	llmstat_bounds_ms[LLMSTAT_NBUCKET] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 20000, 30000, 60000, 120000
};

static void	llmstat_lock(struct llmstat *);
static void	llmstat_unlock(struct llmstat *);

struct llmstat *
llmstat_map(const char *path)
{
	struct llmstat	*s;
	struct stat	 st;
	void		*p;
	int		 fd, fresh, saved;

	if (path == NULL || *path == '\0') {
		p = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return (NULL);
		s = p;
		memset(s, 0, sizeof(*s));
		s->magic = LLMSTAT_MAGIC;
		return (s);
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1)
		goto fail;
	fresh = st.st_size != (off_t)sizeof(*s);
	if (fresh && ftruncate(fd, (off_t)sizeof(*s)) == -1)
		goto fail;
	p = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	(void)close(fd);
	s = p;
	if (fresh || __atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) !=
	    LLMSTAT_MAGIC) {
		memset(s, 0, sizeof(*s));
		__atomic_store_n(&s->magic, LLMSTAT_MAGIC, __ATOMIC_RELEASE);
	}
	return (s);
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return (NULL);
}

void
llmstat_add(struct llmstat *s, const char *provider, const char *model,
    enum llm_err err, uint64_t ms, long ptok, long ctok)
{
	struct llmstat_entry	*e;
	int			 i, n;

	if (s == NULL)
		return;
	if ((unsigned)err >= LLMSTAT_NERR)
		err = LLM_ERR_INVALID;
	n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		if (!strcmp(s->e[i].provider, provider) &&
		    !strcmp(s->e[i].model, model))
			break;
	}
	if (i == n) {
		llmstat_lock(s);
		for (i = 0; i < s->n; i++) {
			if (!strcmp(s->e[i].provider, provider) &&
			    !strcmp(s->e[i].model, model))
				break;
		}
		if (i == s->n && i < LLMSTAT_ENTRIES) {
			(void)snprintf(s->e[i].provider,
			    sizeof(s->e[i].provider), "%s", provider);
			(void)snprintf(s->e[i].model, sizeof(s->e[i].model),
			    "%s", model);
			__atomic_store_n(&s->n, i + 1, __ATOMIC_RELEASE);
		}
		llmstat_unlock(s);
		/* Full: the last entry takes what does not fit. */
		if (i >= LLMSTAT_ENTRIES)
			i = LLMSTAT_ENTRIES - 1;
	}
	e = &s->e[i];
	__atomic_add_fetch(&e->calls[err], 1, __ATOMIC_RELAXED);
	if (ptok > 0)
		__atomic_add_fetch(&e->prompt_tokens, (uint64_t)ptok,
		    __ATOMIC_RELAXED);
	if (ctok > 0)
		__atomic_add_fetch(&e->completion_tokens, (uint64_t)ctok,
		    __ATOMIC_RELAXED);
	for (i = 0; i < LLMSTAT_NBUCKET; i++) {
		if (ms <= llmstat_bounds_ms[i])
			break;
	}
	__atomic_add_fetch(&e->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&e->ms_sum, ms, __ATOMIC_RELAXED);
}

int
llmstat_count(const struct llmstat *s)
{
	int	n;

	n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
	return (n > LLMSTAT_ENTRIES ? LLMSTAT_ENTRIES : n);
}

static void
llmstat_lock(struct llmstat *s)
{
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
llmstat_unlock(struct llmstat *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}
