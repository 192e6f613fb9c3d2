/* metrics.c - process-wide Prometheus counters and histograms (see metrics.h).
 *
 * One mutex guards everything: a request takes it once (metrics_request) for a hash lookup and
 * a few additions, which costs far less than the request itself. Families and series are never
 * freed (they live as long as the process); label values are bounded by the callers (route
 * patterns, a normalised method, a status code), so the number of series stays small. */
#include "common/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define METRICS_NBUCKETS 12
#define METRICS_HASH 64

static const double metrics_bounds[METRICS_NBUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
							 0.1,	0.25,	0.5,   1,    2.5,   5 };
static const char *const metrics_bound_text[METRICS_NBUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"
};

enum metrics_kind { METRICS_COUNTER, METRICS_HISTOGRAM };

struct metrics_series {
	struct metrics_series *next_hash;  /* chain in the family's hash table */
	struct metrics_series *next;       /* creation order, for stable output */
	unsigned long long count;          /* counter value, or histogram observation count */
	unsigned long long buckets[METRICS_NBUCKETS]; /* per-bucket (not cumulative) counts */
	double sum;
	char labels[];                     /* pre-formatted, may be "" */
};

struct metrics_family {
	struct metrics_family *next;
	enum metrics_kind kind;
	char *name;
	char *help;
	struct metrics_series *hash[METRICS_HASH];
	struct metrics_series *first, *last;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_family *metrics_first, *metrics_last;
static const char *metrics_service;
static time_t metrics_started;

void metrics_init(const char *service)
{
	metrics_service = service;
	metrics_started = time(NULL);
}

static void *metrics_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL) {
		fputs("{\"level\":\"error\",\"msg\":\"out of memory (metrics)\"}\n", stderr);
		abort();
	}
	return p;
}

static char *metrics_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = metrics_alloc(n);

	memcpy(p, s, n);
	return p;
}

static unsigned metrics_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % METRICS_HASH;
}

/* Finds or creates the family; NULL if the name exists with another kind. Lock held. */
static struct metrics_family *family_get(const char *name, const char *help,
					 enum metrics_kind kind)
{
	struct metrics_family *f;

	for (f = metrics_first; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->kind == kind ? f : NULL;
	f = metrics_alloc(sizeof(*f));
	f->kind = kind;
	f->name = metrics_strdup(name);
	f->help = metrics_strdup(help != NULL ? help : "");
	if (metrics_last != NULL)
		metrics_last->next = f;
	else
		metrics_first = f;
	metrics_last = f;
	return f;
}

/* Finds or creates the series with these labels. Lock held. */
static struct metrics_series *series_get(struct metrics_family *f, const char *labels)
{
	unsigned h = metrics_hash(labels);
	struct metrics_series *s;
	size_t n;

	for (s = f->hash[h]; s != NULL; s = s->next_hash)
		if (strcmp(s->labels, labels) == 0)
			return s;
	n = strlen(labels) + 1;
	s = metrics_alloc(sizeof(*s) + n);
	memcpy(s->labels, labels, n);
	s->next_hash = f->hash[h];
	f->hash[h] = s;
	if (f->last != NULL)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

static void series_observe(struct metrics_series *s, double seconds)
{
	size_t i;

	if (!(seconds >= 0))
		seconds = 0;
	for (i = 0; i < METRICS_NBUCKETS; i++) {
		if (seconds <= metrics_bounds[i]) {
			s->buckets[i]++;
			break;
		}
	}
	s->count++;
	s->sum += seconds;
}

/* Client-sent methods are mapped onto a fixed set so they cannot create unbounded series. */
static const char *metrics_method(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
					     "OPTIONS" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (m != NULL && strcmp(m, known[i]) == 0)
			return known[i];
	return "OTHER";
}

/* Appends s escaped as a Prometheus label value (\\, \" and \n). */
static size_t label_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 2 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[n++] = '\\';
			out[n++] = *s;
		} else if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return n;
}

void metrics_request(const char *route, const char *method, int status, double seconds)
{
	static const char count_help[] = "HTTP requests by route, method and status.";
	static const char dur_help[] = "HTTP request latency in seconds by route and method.";
	struct metrics_family *f;
	char r[256];
	char lab_count[384];
	char lab_dur[384];
	const char *m = metrics_method(method);

	label_escape(r, sizeof(r), route != NULL ? route : "unmatched");
	snprintf(lab_count, sizeof(lab_count), "route=\"%s\",method=\"%s\",status=\"%d\"", r, m,
		 status);
	snprintf(lab_dur, sizeof(lab_dur), "route=\"%s\",method=\"%s\"", r, m);
	pthread_mutex_lock(&metrics_lock);
	f = family_get("http_requests_total", count_help, METRICS_COUNTER);
	if (f != NULL)
		series_get(f, lab_count)->count++;
	f = family_get("http_request_duration_seconds", dur_help, METRICS_HISTOGRAM);
	if (f != NULL)
		series_observe(series_get(f, lab_dur), seconds);
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_count(const char *family, const char *help, const char *labels, unsigned long n)
{
	struct metrics_family *f;

	pthread_mutex_lock(&metrics_lock);
	f = family_get(family, help, METRICS_COUNTER);
	if (f != NULL)
		series_get(f, labels != NULL ? labels : "")->count += n;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_observe(const char *family, const char *help, const char *labels, double seconds)
{
	struct metrics_family *f;

	pthread_mutex_lock(&metrics_lock);
	f = family_get(family, help, METRICS_HISTOGRAM);
	if (f != NULL)
		series_observe(series_get(f, labels != NULL ? labels : ""), seconds);
	pthread_mutex_unlock(&metrics_lock);
}

/* `name{labels,extra}` or `name{extra}` or `name` (suffix appended to the name). */
static void render_name(struct buf *out, const char *name, const char *suffix, const char *labels,
			const char *extra)
{
	int has_l = labels[0] != '\0';
	int has_e = extra != NULL && extra[0] != '\0';

	buf_printf(out, "%s%s", name, suffix);
	if (has_l || has_e)
		buf_printf(out, "{%s%s%s}", labels, has_l && has_e ? "," : "", has_e ? extra : "");
}

static void render_family(struct buf *out, const struct metrics_family *f)
{
	const struct metrics_series *s;
	size_t i;

	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		   f->kind == METRICS_COUNTER ? "counter" : "histogram");
	for (s = f->first; s != NULL; s = s->next) {
		if (f->kind == METRICS_COUNTER) {
			render_name(out, f->name, "", s->labels, NULL);
			buf_printf(out, " %llu\n", s->count);
			continue;
		}
		unsigned long long cum = 0;
		char le[32];

		for (i = 0; i < METRICS_NBUCKETS; i++) {
			cum += s->buckets[i];
			snprintf(le, sizeof(le), "le=\"%s\"", metrics_bound_text[i]);
			render_name(out, f->name, "_bucket", s->labels, le);
			buf_printf(out, " %llu\n", cum);
		}
		render_name(out, f->name, "_bucket", s->labels, "le=\"+Inf\"");
		buf_printf(out, " %llu\n", s->count);
		render_name(out, f->name, "_sum", s->labels, NULL);
		buf_printf(out, " %.6f\n", s->sum);
		render_name(out, f->name, "_count", s->labels, NULL);
		buf_printf(out, " %llu\n", s->count);
	}
}

/* Process gauges: resident memory (from /proc/self/statm) and start time. */
static void render_process(struct buf *out)
{
	long pages_total = 0, pages_rss = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp != NULL) {
		if (fscanf(fp, "%ld %ld", &pages_total, &pages_rss) != 2)
			pages_rss = 0;
		fclose(fp);
	}
	buf_printf(out,
		   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
		   "# TYPE process_resident_memory_bytes gauge\n"
		   "process_resident_memory_bytes %lld\n",
		   (long long)pages_rss * (long long)sysconf(_SC_PAGESIZE));
	if (metrics_started != 0)
		buf_printf(out,
			   "# HELP process_start_time_seconds Start time of the process since the "
			   "epoch in seconds.\n"
			   "# TYPE process_start_time_seconds gauge\n"
			   "process_start_time_seconds %lld\n",
			   (long long)metrics_started);
	if (metrics_service != NULL) {
		char svc[128];

		label_escape(svc, sizeof(svc), metrics_service);
		buf_printf(out,
			   "# HELP service_info The service this process runs.\n"
			   "# TYPE service_info gauge\n"
			   "service_info{service=\"%s\"} 1\n",
			   svc);
	}
}

void metrics_render(struct buf *out)
{
	const struct metrics_family *f;

	pthread_mutex_lock(&metrics_lock);
	for (f = metrics_first; f != NULL; f = f->next)
		render_family(out, f);
	pthread_mutex_unlock(&metrics_lock);
	render_process(out);
}
