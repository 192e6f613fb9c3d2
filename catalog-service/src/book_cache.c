/* book_cache.c - the per-replica read cache of GET /books/{id} (see book_cache.h). */
#include "book_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define BOOK_CACHE_STRIPES 64

struct book_cache_slot {
	long long id;      /* 0 = empty (book ids start at 1) */
	long long version;
	int64_t read_ms;   /* monotonic time the read that filled it started */
	uint64_t gen;      /* +1 on every drop of this slot */
	char *text;
};

struct book_cache {
	int ttl_ms;
	size_t n;
	struct book_cache_slot *slots;
	pthread_mutex_t locks[BOOK_CACHE_STRIPES];
};

static size_t slot_of(const struct book_cache *c, long long id)
{
	return (size_t)((unsigned long long)id % c->n);
}

static pthread_mutex_t *lock_of(struct book_cache *c, size_t slot)
{
	return &c->locks[slot % BOOK_CACHE_STRIPES];
}

struct book_cache *book_cache_new(int ttl_ms, int max_entries)
{
	struct book_cache *c;

	if (ttl_ms <= 0 || max_entries <= 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->ttl_ms = ttl_ms;
	c->n = (size_t)max_entries;
	c->slots = calloc(c->n, sizeof(*c->slots));
	if (c->slots == NULL)
		abort();
	for (size_t i = 0; i < BOOK_CACHE_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

void book_cache_free(struct book_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->slots[i].text);
	for (size_t i = 0; i < BOOK_CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c->slots);
	free(c);
}

int book_cache_get(struct book_cache *c, long long id, char **text, long long *version)
{
	size_t i;
	struct book_cache_slot *s;
	int rc = -1;

	if (c == NULL)
		return -1;
	i = slot_of(c, id);
	s = &c->slots[i];
	pthread_mutex_lock(lock_of(c, i));
	if (s->id == id && s->text != NULL && clock_mono_ms() - s->read_ms < c->ttl_ms) {
		*text = strdup(s->text);
		if (*text == NULL)
			abort();
		*version = s->version;
		rc = 0;
	}
	pthread_mutex_unlock(lock_of(c, i));
	return rc;
}

uint64_t book_cache_ticket(struct book_cache *c, long long id)
{
	size_t i;
	uint64_t gen;

	if (c == NULL)
		return 0;
	i = slot_of(c, id);
	pthread_mutex_lock(lock_of(c, i));
	gen = c->slots[i].gen;
	pthread_mutex_unlock(lock_of(c, i));
	return gen;
}

void book_cache_put(struct book_cache *c, long long id, uint64_t ticket, long long read_ms,
		    const char *text, long long version)
{
	size_t i;
	struct book_cache_slot *s;
	char *copy;

	if (c == NULL || text == NULL || strlen(text) > BOOK_CACHE_MAX_BODY)
		return;
	copy = strdup(text);
	if (copy == NULL)
		abort();
	i = slot_of(c, id);
	s = &c->slots[i];
	pthread_mutex_lock(lock_of(c, i));
	if (s->gen == ticket) {
		free(s->text);
		s->id = id;
		s->version = version;
		s->read_ms = read_ms; /* when the read started, not now: its age bounds staleness */
		s->text = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(lock_of(c, i));
	free(copy);
}

void book_cache_drop(struct book_cache *c, long long id)
{
	size_t i;
	struct book_cache_slot *s;
	char *old = NULL;

	if (c == NULL)
		return;
	i = slot_of(c, id);
	s = &c->slots[i];
	pthread_mutex_lock(lock_of(c, i));
	s->gen++;
	if (s->id == id) {
		old = s->text;
		s->text = NULL;
		s->id = 0;
	}
	pthread_mutex_unlock(lock_of(c, i));
	free(old);
}
