/* book_cache.c - the per-replica read cache of GET /books/{id} and GET /books (see
 * book_cache.h). */
#include "book_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define BOOK_CACHE_STRIPES 64

struct book_cache_slot {
	long long id;      /* 0 = empty (book ids start at 1) */
	long long version;
	int64_t read_ms;   /* monotonic time the read that filled it started */
	uint64_t gen;      /* +1 on every drop of this slot */
	bool refreshing;   /* a request was sent to refresh it (refresh-ahead) */
	char *text;
};

struct book_cache_page {
	char *key;         /* NULL = empty */
	char *text;
	int64_t read_ms;
	uint64_t gen;      /* pages_gen when the read that filled it started */
	bool refreshing;   /* a request was sent to refresh it (refresh-ahead) */
};

struct book_cache {
	int ttl_ms;
	size_t n;
	struct book_cache_slot *slots;
	pthread_mutex_t locks[BOOK_CACHE_STRIPES];
	/* +1 on every drop: a page is valid only while its gen is the current one */
	_Atomic uint64_t pages_gen;
	pthread_mutex_t pages_lock;
	struct book_cache_page pages[BOOK_CACHE_PAGE_SLOTS];
};

/* Whether a request that finds a fresh entry (read at read_ms) is served from it (true) or sent
 * to the database to refresh it (false). Refresh-ahead: in the second half of its TTL the entry
 * elects one request to read the database again, while the others keep being served until the
 * TTL runs out, so a popular entry does not expire under load and its readers do not all miss
 * together. A refresh that does not land (a failed read) leaves the entry to expire at its TTL,
 * as without refresh-ahead. *refreshing is the entry's mark, cleared by the next put. */
static bool serve_fresh(int ttl_ms, int64_t now, int64_t read_ms, bool *refreshing)
{
	if (now - read_ms < ttl_ms / 2 || *refreshing)
		return true;
	*refreshing = true;
	return false;
}

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
	pthread_mutex_init(&c->pages_lock, NULL);
	atomic_init(&c->pages_gen, 1);
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
	for (size_t i = 0; i < BOOK_CACHE_PAGE_SLOTS; i++) {
		free(c->pages[i].key);
		free(c->pages[i].text);
	}
	pthread_mutex_destroy(&c->pages_lock);
	free(c->slots);
	free(c);
}

int book_cache_get(struct book_cache *c, long long id, char **text, long long *version)
{
	size_t i;
	struct book_cache_slot *s;
	int64_t now;
	int rc = -1;

	if (c == NULL)
		return -1;
	i = slot_of(c, id);
	s = &c->slots[i];
	pthread_mutex_lock(lock_of(c, i));
	now = clock_mono_ms();
	if (s->id == id && s->text != NULL && now - s->read_ms < c->ttl_ms &&
	    serve_fresh(c->ttl_ms, now, s->read_ms, &s->refreshing)) {
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
		s->refreshing = false;
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
	atomic_fetch_add(&c->pages_gen, 1);
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

/* FNV-1a: spreads query keys over the page slots. */
static size_t page_of(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % BOOK_CACHE_PAGE_SLOTS);
}

int book_cache_page_get(struct book_cache *c, const char *key, char **text)
{
	struct book_cache_page *p;
	int64_t now;
	int rc = -1;

	if (c == NULL || key == NULL)
		return -1;
	p = &c->pages[page_of(key)];
	pthread_mutex_lock(&c->pages_lock);
	now = clock_mono_ms();
	if (p->key != NULL && strcmp(p->key, key) == 0 && p->gen == atomic_load(&c->pages_gen) &&
	    now - p->read_ms < c->ttl_ms && serve_fresh(c->ttl_ms, now, p->read_ms, &p->refreshing)) {
		*text = strdup(p->text);
		if (*text == NULL)
			abort();
		rc = 0;
	}
	pthread_mutex_unlock(&c->pages_lock);
	return rc;
}

uint64_t book_cache_page_ticket(struct book_cache *c)
{
	return c == NULL ? 0 : atomic_load(&c->pages_gen);
}

void book_cache_page_put(struct book_cache *c, const char *key, uint64_t ticket, long long read_ms,
			 const char *text)
{
	struct book_cache_page *p;
	char *k, *t;

	if (c == NULL || key == NULL || text == NULL || strlen(text) > BOOK_CACHE_MAX_PAGE)
		return;
	k = strdup(key);
	t = strdup(text);
	if (k == NULL || t == NULL)
		abort();
	p = &c->pages[page_of(key)];
	pthread_mutex_lock(&c->pages_lock);
	/* A drop since the ticket: this page may predate a write this replica answered. */
	if (ticket == atomic_load(&c->pages_gen)) {
		char *old_k = p->key, *old_t = p->text;

		p->key = k;
		p->text = t;
		p->read_ms = read_ms; /* when the read started: its age bounds staleness */
		p->gen = ticket;
		p->refreshing = false;
		k = old_k;
		t = old_t;
	}
	pthread_mutex_unlock(&c->pages_lock);
	free(k);
	free(t);
}
