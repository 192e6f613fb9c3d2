/* auth_cache.c - the verified-token cache (see auth_int.h).
 *
 * A token is looked up by the SHA-256 of its bytes, so only the exact token that was verified
 * hits, and the cache holds no token. 1024 entries in 4-way sets; a set is chosen by the hash
 * and guarded by one of 16 mutexes, so workers rarely wait on each other and never for long (a
 * copy of ~600 bytes). An entry is served only before its token's exp (leeway is for the full
 * check, not for the cache) and only with the key-set generation it was verified under, so a key
 * removed from the JWKS stops its tokens at once. Full sets evict the least recently used. */
#include "auth_int.h"

#include "common/log.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SETS 256
#define CACHE_WAYS 4
#define CACHE_SHARDS 16

struct cache_entry {
	unsigned char key[32];
	uint64_t gen;
	int64_t exp;
	uint64_t used; /* last use, from the shard's clock; 0 = empty */
	struct auth_identity id;
};

struct auth_cache {
	pthread_mutex_t lock[CACHE_SHARDS];
	uint64_t clock[CACHE_SHARDS];
	struct cache_entry set[CACHE_SETS][CACHE_WAYS];
};

struct auth_cache *auth_cache_new(void)
{
	struct auth_cache *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		log_msg(LOG_ERROR, NULL, "auth: out of memory (token cache)");
		abort();
	}
	for (int i = 0; i < CACHE_SHARDS; i++)
		pthread_mutex_init(&c->lock[i], NULL);
	return c;
}

void auth_cache_free(struct auth_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CACHE_SHARDS; i++)
		pthread_mutex_destroy(&c->lock[i]);
	free(c);
}

static size_t set_of(const unsigned char key[32])
{
	return ((size_t)key[0] | ((size_t)key[1] << 8)) % CACHE_SETS;
}

bool auth_cache_get(struct auth_cache *c, const unsigned char key[32], uint64_t gen, int64_t now,
		    struct auth_identity *out)
{
	size_t s = set_of(key);
	size_t shard = s % CACHE_SHARDS;
	bool hit = false;

	pthread_mutex_lock(&c->lock[shard]);
	for (int w = 0; w < CACHE_WAYS; w++) {
		struct cache_entry *e = &c->set[s][w];

		if (e->used == 0 || CRYPTO_memcmp(e->key, key, 32) != 0)
			continue;
		if (e->gen != gen || now >= e->exp) {
			e->used = 0; /* stale: free the slot */
			break;
		}
		e->used = ++c->clock[shard];
		*out = e->id;
		hit = true;
		break;
	}
	pthread_mutex_unlock(&c->lock[shard]);
	return hit;
}

void auth_cache_put(struct auth_cache *c, const unsigned char key[32], uint64_t gen, int64_t exp,
		    const struct auth_identity *id)
{
	size_t s = set_of(key);
	size_t shard = s % CACHE_SHARDS;
	struct cache_entry *victim = NULL;

	pthread_mutex_lock(&c->lock[shard]);
	for (int w = 0; w < CACHE_WAYS; w++) {
		struct cache_entry *e = &c->set[s][w];

		if (e->used != 0 && memcmp(e->key, key, 32) == 0) {
			victim = e; /* already there (two workers verified it at once) */
			break;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	memcpy(victim->key, key, 32);
	victim->gen = gen;
	victim->exp = exp;
	victim->id = *id;
	victim->used = ++c->clock[shard];
	pthread_mutex_unlock(&c->lock[shard]);
}
