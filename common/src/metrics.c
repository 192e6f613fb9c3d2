/* metrics.c - process-wide Prometheus metrics (see metrics.h).
 *
 * Families live on a list and series in a per-family hash table, both guarded by one
 * reader-writer lock that is held only to find, create or render series. Values are atomics:
 * counters and bucket counts are 64-bit integers, gauges and histogram sums are doubles stored
 * as their bit patterns and updated with compare-and-swap. So a request costs a read-locked
 * hash lookup and a few atomic additions, and no allocation once its series exist. Nothing is
 * ever freed: families and series live as long as the process, and their number is bounded by
 * the callers (route templates, a fixed method set, status codes). */
#include "common/metrics.h"

#include "common/log.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define METRICS_MAX_BUCKETS 14
#define METRICS_HASH 64

struct metrics_layout {
	size_t n;
	double bounds[METRICS_MAX_BUCKETS];
	const char *text[METRICS_MAX_BUCKETS];
};

static const struct metrics_layout metrics_layouts[] = {
	[METRICS_BUCKETS_SECONDS] = { 14,
				      { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					0.5, 1, 2.5, 5, 10 },
				      { "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
					"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" } },
	[METRICS_BUCKETS_BYTES] = { 8,
				    { 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576 },
				    { "64", "256", "1024", "4096", "16384", "65536", "262144",
				      "1048576" } },
};

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_family;

struct metrics_series {
	struct metrics_series *next_hash; /* chain in the family's hash table */
	struct metrics_series *next;      /* creation order, for stable output */
	const struct metrics_family *family;
	atomic_ullong count;              /* counter value, or histogram observation count */
	atomic_ullong bits;               /* gauge value or histogram sum (a double's bits) */
	atomic_ullong buckets[METRICS_MAX_BUCKETS]; /* per-bucket (not cumulative) counts */
	char labels[];                    /* pre-formatted, may be "" */
};

struct metrics_family {
	struct metrics_family *next;
	enum metrics_kind kind;
	const struct metrics_layout *layout; /* histograms */
	int hidden;                          /* a kind clash: never rendered */
	char *name;
	char *help;
	struct metrics_series *hash[METRICS_HASH];
	struct metrics_series *first, *last;
};

static pthread_rwlock_t metrics_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct metrics_family *metrics_first, *metrics_last;
static const char *metrics_service = "";
static const char *metrics_version = "unknown";
static const char *metrics_commit = "unknown";
static double metrics_started;
static atomic_llong metrics_inflight;

#define METRICS_HELP_REQUESTS "HTTP requests answered, by route template, method and status."
#define METRICS_HELP_DURATION "Time from a request's first byte to its answer, seconds."
#define METRICS_HELP_IN "Request body size, bytes."
#define METRICS_HELP_OUT "Response body size, bytes."

void metrics_init(const char *service, const char *version, const char *commit)
{
	struct timespec ts;

	metrics_service = service != NULL ? service : "";
	metrics_version = version != NULL && version[0] != '\0' ? version : "unknown";
	metrics_commit = commit != NULL && commit[0] != '\0' ? commit : "unknown";
	clock_gettime(CLOCK_REALTIME, &ts);
	metrics_started = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	/* The request families are declared from the start, so the first scrape shows them. */
	metrics_declare_counter("http_requests_total", METRICS_HELP_REQUESTS);
	metrics_declare_histogram("http_request_duration_seconds", METRICS_HELP_DURATION,
				  METRICS_BUCKETS_SECONDS);
	metrics_declare_histogram("http_request_size_bytes", METRICS_HELP_IN, METRICS_BUCKETS_BYTES);
	metrics_declare_histogram("http_response_size_bytes", METRICS_HELP_OUT,
				  METRICS_BUCKETS_BYTES);
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

static double bits_to_double(unsigned long long b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static unsigned long long double_to_bits(double d)
{
	unsigned long long b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

/* *a += d on a double stored as bits. */
static void atomic_add_double(atomic_ullong *a, double d)
{
	unsigned long long old = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &old,
						      double_to_bits(bits_to_double(old) + d),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* The family named name, or NULL. Lock held (read or write). */
static struct metrics_family *family_find(const char *name)
{
	struct metrics_family *f;

	for (f = metrics_first; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* Finds or creates the family. A name that exists with another kind gets a hidden stand-in
 * family, so the caller's updates go somewhere harmless. Write lock held. */
static struct metrics_family *family_get(const char *name, const char *help,
					 enum metrics_kind kind, enum metrics_buckets b)
{
	struct metrics_family *f = family_find(name);
	int clash = 0;

	if (f != NULL) {
		if (f->kind == kind && !f->hidden)
			return f;
		clash = 1;
		/* One hidden stand-in per clashing name and kind. */
		for (f = metrics_first; f != NULL; f = f->next)
			if (f->hidden && f->kind == kind && strcmp(f->name, name) == 0)
				return f;
	}
	f = metrics_alloc(sizeof(*f));
	f->kind = kind;
	f->layout = &metrics_layouts[b];
	f->hidden = clash;
	f->name = metrics_strdup(name);
	f->help = metrics_strdup(help != NULL ? help : "");
	if (metrics_last != NULL)
		metrics_last->next = f;
	else
		metrics_first = f;
	metrics_last = f;
	if (clash)
		log_msg(LOG_ERROR, NULL, "metrics: %s registered again with another type (ignored)",
			name);
	return f;
}

/* The series with these labels, or NULL. Lock held (read or write). */
static struct metrics_series *series_find(const struct metrics_family *f, const char *labels)
{
	struct metrics_series *s;

	for (s = f->hash[metrics_hash(labels)]; s != NULL; s = s->next_hash)
		if (strcmp(s->labels, labels) == 0)
			return s;
	return NULL;
}

/* Finds or creates the series. Write lock held. */
static struct metrics_series *series_get(struct metrics_family *f, const char *labels)
{
	struct metrics_series *s = series_find(f, labels);
	unsigned h;
	size_t n;

	if (s != NULL)
		return s;
	h = metrics_hash(labels);
	n = strlen(labels) + 1;
	s = metrics_alloc(sizeof(*s) + n);
	memcpy(s->labels, labels, n);
	s->family = f;
	s->next_hash = f->hash[h];
	f->hash[h] = s;
	if (f->last != NULL)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

/* Find under the read lock (the common case), create under the write lock. */
static struct metrics_series *series_lookup(const char *name, const char *help,
					    enum metrics_kind kind, enum metrics_buckets b,
					    const char *labels)
{
	struct metrics_family *f;
	struct metrics_series *s = NULL;

	if (labels == NULL)
		labels = "";
	pthread_rwlock_rdlock(&metrics_lock);
	f = family_find(name);
	if (f != NULL && f->kind == kind && !f->hidden)
		s = series_find(f, labels);
	pthread_rwlock_unlock(&metrics_lock);
	if (s != NULL)
		return s;
	pthread_rwlock_wrlock(&metrics_lock);
	s = series_get(family_get(name, help, kind, b), labels);
	pthread_rwlock_unlock(&metrics_lock);
	return s;
}

void metrics_declare_counter(const char *name, const char *help)
{
	pthread_rwlock_wrlock(&metrics_lock);
	(void)family_get(name, help, METRICS_COUNTER, METRICS_BUCKETS_SECONDS);
	pthread_rwlock_unlock(&metrics_lock);
}

void metrics_declare_histogram(const char *name, const char *help, enum metrics_buckets b)
{
	pthread_rwlock_wrlock(&metrics_lock);
	(void)family_get(name, help, METRICS_HISTOGRAM, b);
	pthread_rwlock_unlock(&metrics_lock);
}

struct metrics_series *metrics_counter(const char *name, const char *help, const char *labels)
{
	return series_lookup(name, help, METRICS_COUNTER, METRICS_BUCKETS_SECONDS, labels);
}

struct metrics_series *metrics_gauge(const char *name, const char *help, const char *labels)
{
	return series_lookup(name, help, METRICS_GAUGE, METRICS_BUCKETS_SECONDS, labels);
}

struct metrics_series *metrics_histogram(const char *name, const char *help, const char *labels,
					 enum metrics_buckets b)
{
	return series_lookup(name, help, METRICS_HISTOGRAM, b, labels);
}

void metrics_inc(struct metrics_series *s, unsigned long n)
{
	if (s != NULL)
		atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void metrics_set(struct metrics_series *s, double v)
{
	if (s != NULL)
		atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
}

void metrics_add(struct metrics_series *s, double d)
{
	if (s != NULL)
		atomic_add_double(&s->bits, d);
}

void metrics_observe_value(struct metrics_series *s, double v)
{
	const struct metrics_layout *l;
	size_t i;

	if (s == NULL)
		return;
	if (!(v >= 0))
		v = 0; /* also NaN */
	l = s->family->layout;
	for (i = 0; i < l->n; i++) {
		if (v <= l->bounds[i]) {
			atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
			break;
		}
	}
	atomic_add_double(&s->bits, v);
	/* The count last: a scrape may then see a bucket or sum a moment ahead of it, never
	 * behind (the +Inf bucket is the count, so it stays >= every finite bucket). */
	atomic_fetch_add_explicit(&s->count, 1, memory_order_release);
}

void metrics_count(const char *family, const char *help, const char *labels, unsigned long n)
{
	metrics_inc(metrics_counter(family, help, labels), n);
}

void metrics_observe(const char *family, const char *help, const char *labels, double seconds)
{
	metrics_observe_value(metrics_histogram(family, help, labels, METRICS_BUCKETS_SECONDS),
			      seconds);
}

void metrics_gauge_set(const char *family, const char *help, const char *labels, double v)
{
	metrics_set(metrics_gauge(family, help, labels), v);
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

size_t metrics_label_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	if (cap == 0)
		return 0;
	for (; s != NULL && *s != '\0' && n + 2 < cap; s++) {
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

void metrics_request(const char *route, const char *method, int status, double seconds,
		     unsigned long long bytes_in, unsigned long long bytes_out)
{
	static const char count_help[] = METRICS_HELP_REQUESTS;
	static const char dur_help[] = METRICS_HELP_DURATION;
	static const char in_help[] = METRICS_HELP_IN;
	static const char out_help[] = METRICS_HELP_OUT;
	char r[256];
	char lab_count[384];
	char lab_rm[352];
	const char *m = metrics_method(method);

	metrics_label_escape(r, sizeof(r), route != NULL ? route : "unmatched");
	snprintf(lab_count, sizeof(lab_count), "route=\"%s\",method=\"%s\",status=\"%d\"", r, m,
		 status);
	snprintf(lab_rm, sizeof(lab_rm), "route=\"%s\",method=\"%s\"", r, m);
	metrics_inc(metrics_counter("http_requests_total", count_help, lab_count), 1);
	metrics_observe_value(metrics_histogram("http_request_duration_seconds", dur_help, lab_rm,
						METRICS_BUCKETS_SECONDS),
			      seconds);
	metrics_observe_value(metrics_histogram("http_request_size_bytes", in_help, lab_rm,
						METRICS_BUCKETS_BYTES),
			      (double)bytes_in);
	metrics_observe_value(metrics_histogram("http_response_size_bytes", out_help, lab_rm,
						METRICS_BUCKETS_BYTES),
			      (double)bytes_out);
}

void metrics_in_flight(int d)
{
	atomic_fetch_add_explicit(&metrics_inflight, d, memory_order_relaxed);
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

static const char *kind_name(enum metrics_kind k)
{
	return k == METRICS_COUNTER ? "counter" : k == METRICS_GAUGE ? "gauge" : "histogram";
}

static void render_histogram(struct buf *out, const struct metrics_family *f,
			     const struct metrics_series *s)
{
	const struct metrics_layout *l = f->layout;
	unsigned long long count = atomic_load_explicit(&s->count, memory_order_acquire);
	unsigned long long cum = 0;
	char le[32];
	size_t i;

	for (i = 0; i < l->n; i++) {
		cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		if (cum > count)
			cum = count; /* an observation in progress: keep buckets monotonic */
		snprintf(le, sizeof(le), "le=\"%s\"", l->text[i]);
		render_name(out, f->name, "_bucket", s->labels, le);
		buf_printf(out, " %llu\n", cum);
	}
	render_name(out, f->name, "_bucket", s->labels, "le=\"+Inf\"");
	buf_printf(out, " %llu\n", count);
	render_name(out, f->name, "_sum", s->labels, NULL);
	buf_printf(out, " %.9g\n", bits_to_double(atomic_load(&s->bits)));
	render_name(out, f->name, "_count", s->labels, NULL);
	buf_printf(out, " %llu\n", count);
}

static void render_family(struct buf *out, const struct metrics_family *f)
{
	const struct metrics_series *s;

	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		   kind_name(f->kind));
	for (s = f->first; s != NULL; s = s->next) {
		if (f->kind == METRICS_HISTOGRAM) {
			render_histogram(out, f, s);
			continue;
		}
		render_name(out, f->name, "", s->labels, NULL);
		if (f->kind == METRICS_COUNTER)
			buf_printf(out, " %llu\n", atomic_load(&s->count));
		else
			buf_printf(out, " %.17g\n", bits_to_double(atomic_load(&s->bits)));
	}
}

static void render_gauge(struct buf *out, const char *name, const char *help, double v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

/* The number of open descriptors (entries of /proc/self/fd, less the one opendir holds). */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/* CPU seconds and memory from /proc/self/stat (fields 14/15 utime/stime in clock ticks, 23
 * vsize in bytes, 24 rss in pages). Returns 0 or -1. */
static int proc_stat(double *cpu, double *vsize, double *rss)
{
	char line[1024];
	unsigned long long utime = 0, stime = 0, vs = 0;
	long long rs = 0;
	FILE *fp = fopen("/proc/self/stat", "r");
	char *p;
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(line, 1, sizeof(line) - 1, fp);
	fclose(fp);
	line[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': skip past the last ')'. */
	p = strrchr(line, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
				"%*d %*d %*d %*u %llu %lld",
				&utime, &stime, &vs, &rs) != 4)
		return -1;
	*cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	*vsize = (double)vs;
	*rss = (double)rs * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

static void render_process(struct buf *out)
{
	double cpu = 0, vsize = 0, rss = 0;
	struct rlimit rl;
	char svc[128], ver[64], com[96];

	(void)proc_stat(&cpu, &vsize, &rss);
	buf_printf(out,
		   "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
		   "seconds.\n# TYPE process_cpu_seconds_total counter\n"
		   "process_cpu_seconds_total %.17g\n",
		   cpu);
	render_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", rss);
	render_gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize);
	render_gauge(out, "process_open_fds", "Number of open file descriptors.",
		     (double)open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		render_gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
			     rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur);
	buf_printf(out,
		   "# HELP process_start_time_seconds Start time of the process since unix epoch "
		   "in seconds.\n# TYPE process_start_time_seconds gauge\n"
		   "process_start_time_seconds %.3f\n",
		   metrics_started);
	metrics_label_escape(svc, sizeof(svc), metrics_service);
	metrics_label_escape(ver, sizeof(ver), metrics_version);
	metrics_label_escape(com, sizeof(com), metrics_commit);
	buf_printf(out,
		   "# HELP bookstore_build_info The binary: service name, release version and git "
		   "commit (always 1).\n# TYPE bookstore_build_info gauge\n"
		   "bookstore_build_info{service=\"%s\",version=\"%s\",commit=\"%s\"} 1\n",
		   svc, ver, com);
	render_gauge(out, "http_requests_in_flight", "HTTP requests being handled now.",
		     (double)atomic_load(&metrics_inflight));
}

void metrics_render(struct buf *out)
{
	const struct metrics_family *f;

	pthread_rwlock_rdlock(&metrics_lock);
	for (f = metrics_first; f != NULL; f = f->next)
		if (!f->hidden)
			render_family(out, f);
	pthread_rwlock_unlock(&metrics_lock);
	render_process(out);
}
