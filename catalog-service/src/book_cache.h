/* book_cache.h - the optional per-replica read cache of GET /books/{id} and of the list pages of
 * GET /books (CACHE_TTL_MS).
 *
 * A direct-mapped table of at most max_entries answers (slot = id mod max_entries), each the
 * response text of one book, its version and when it was read. Memory is bounded: at most
 * max_entries bodies of at most BOOK_CACHE_MAX_BODY bytes (larger answers are not cached).
 *
 * Staleness: an entry is served for ttl_ms after the start of the read that filled it, so another replica's
 * write shows here after at most ttl_ms. Refresh-ahead: in the second half of that time a get
 * answers "miss" to one caller (who reads the database and puts the new answer) and keeps
 * serving the others, so a popular entry does not expire under load and its readers do not all
 * go to the database at once. A write through this replica drops the book's entry
 * (book_cache_drop) before it answers, and a read that started before such a drop cannot store
 * its older answer afterwards (the ticket of book_cache_ticket), so this replica's own writes
 * are visible at once. Thread-safe (one mutex per slot stripe); never blocks on I/O. */
#ifndef CATALOG_BOOK_CACHE_H
#define CATALOG_BOOK_CACHE_H

#include <stdint.h>

#define BOOK_CACHE_MAX_BODY 4096
/* List pages: a direct-mapped table of this many pages (slot = hash of the query's key), each at
 * most BOOK_CACHE_MAX_PAGE bytes (a page of 20 books is about 8 KB): 2 MB at most. */
#define BOOK_CACHE_PAGE_SLOTS 128
#define BOOK_CACHE_MAX_PAGE 16384

struct book_cache;

/* A cache, or NULL when ttl_ms is 0 (off); every function below accepts NULL as "off". */
struct book_cache *book_cache_new(int ttl_ms, int max_entries);
void book_cache_free(struct book_cache *c);

/* A fresh entry for id: 0 with *text (malloc'd copy, caller frees) and *version; -1 otherwise. */
int book_cache_get(struct book_cache *c, long long id, char **text, long long *version);

/* Taken before the database read whose answer may be stored. */
uint64_t book_cache_ticket(struct book_cache *c, long long id);

/* Stores text (copied) for id unless the slot was dropped since ticket, or the body is too big.
 * read_ms is clock_mono_ms() taken before the database read started: the entry's age counts from
 * there, so a slow read does not stretch what is served past ttl_ms of the data's age. */
void book_cache_put(struct book_cache *c, long long id, uint64_t ticket, long long read_ms,
		    const char *text, long long version);

/* Forgets id (a write through this replica: an update, a delete, a new book, a stock change),
 * and every cached list page, since any of them may show the book or count it. */
void book_cache_drop(struct book_cache *c, long long id);

/* List pages, keyed by the canonical text of the query (book_query_key). Same rules as above:
 * served for ttl_ms after the start of the read that filled it; any book_cache_drop on this
 * replica discards every page at once, and a read that started before it cannot store its
 * page afterwards (the ticket). */
int book_cache_page_get(struct book_cache *c, const char *key, char **text);
uint64_t book_cache_page_ticket(struct book_cache *c);
void book_cache_page_put(struct book_cache *c, const char *key, uint64_t ticket, long long read_ms,
			 const char *text);

#endif
