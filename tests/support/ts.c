/* ts.c - integration-test support (see ts.h for the contracts).
 *
 * Fatal set-up failures (no test server, a database that cannot be created, a migration that
 * fails) end the current test with ck_abort_msg() and a message saying what to look at; failures
 * of the code under test (a daemon that does not start, an HTTP error) are returned to the test so
 * it can assert on them. Everything here is safe to call from several threads of one test except
 * ts_spawn/ts_stop on the same struct ts_proc. */
#include "ts.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>

#include "common/clock.h"
#include "token.h"
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TS_HEALTH_WAIT_MS 10000
#define TS_HTTP_TIMEOUT_MS 10000
#define TS_MIGRATE_TIMEOUT_MS 120000
#define TS_LOG_TAIL_BYTES 3000

static atomic_uint ts_counter;
static pthread_once_t ts_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t ts_url_lock = PTHREAD_MUTEX_INITIALIZER;
static char ts_admin_url[1024];

/* ---------------------------------------------------------------- small helpers */

/* Process-wide set-up done once: libcurl's global state (not thread-safe to init lazily) and
 * SIGPIPE ignored so a peer closing a socket never kills the test. */
static void ts_init_once(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "ts: curl_global_init failed\n");
		abort();
	}
}

static void ts_init(void)
{
	pthread_once(&ts_once, ts_init_once);
}

static void *ts_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "ts: out of memory\n");
		abort();
	}
	return p;
}

static char *ts_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ts_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

/* A malloc'd string built from fmt; aborts on allocation failure. */
static char *ts_vfmt(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		fprintf(stderr, "ts: bad format %s\n", fmt);
		abort();
	}
	p = ts_xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

static char *ts_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ts_fmt(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = ts_vfmt(fmt, ap);
	va_end(ap);
	return p;
}

static void ts_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Creates dir and its parents (mode 0777 & umask). Returns 0 or -1. */
static int ts_mkdirs(const char *dir)
{
	char *p = ts_xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* $TEST_TMPDIR (created if needed), or /tmp. Static storage. */
static const char *ts_tmpdir(void)
{
	const char *d = getenv("TEST_TMPDIR");

	if (!d || !*d)
		return "/tmp";
	if (ts_mkdirs(d) != 0)
		return "/tmp";
	return d;
}

/* ---- authentication defaults (DECISIONS.md: one test-support helper for tokens) ----------- */

static pthread_once_t ts_auth_once = PTHREAD_ONCE_INIT;
static char *ts_token_with(const struct token_key *k, const char *sub, const char *email,
			   int admin, long ttl_s);
static struct token_key ts_key;
static char ts_jwks_file[512];
static char *ts_admin;

static void ts_auth_init_once(void)
{
	const struct token_key *keys[1] = { &ts_key };
	char *jwks;
	FILE *f;

	token_key_new(&ts_key, "RS256", 0, "ts-key-1");
	jwks = token_jwks(keys, 1);
	snprintf(ts_jwks_file, sizeof(ts_jwks_file), "%s/ts-jwks-%ld.json", ts_tmpdir(),
		 (long)getpid());
	f = fopen(ts_jwks_file, "w");
	if (f == NULL || fputs(jwks, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "ts: cannot write %s\n", ts_jwks_file);
		abort();
	}
	free(jwks);
	ts_admin = ts_token_with(&ts_key, "ts-admin", "admin@example.com", 1, 3600);
}

static void ts_auth_init(void)
{
	pthread_once(&ts_auth_once, ts_auth_init_once);
}

const struct token_key *ts_auth_key(void)
{
	ts_auth_init();
	return &ts_key;
}

const char *ts_jwks_path(void)
{
	ts_auth_init();
	return ts_jwks_file;
}

const char *ts_admin_token(void)
{
	ts_auth_init();
	return ts_admin;
}

const char *ts_internal_token(void)
{
	return TS_INTERNAL_TOKEN;
}

char *ts_token(const char *sub, const char *email, int admin, long ttl_s)
{
	return ts_token_with(ts_auth_key(), sub, email, admin, ttl_s);
}

static char *ts_token_with(const struct token_key *k, const char *sub, const char *email,
			   int admin, long ttl_s)
{
	struct token_claims c;

	memset(&c, 0, sizeof(c));
	c.iss = TS_ISSUER;
	c.aud = TS_AUDIENCE;
	c.sub = sub;
	c.email = email;
	c.roles_json = admin ? "[\"admin\"]" : "[]";
	c.exp_in = ttl_s;
	c.has_iat = true;
	c.iat_in = 0;
	return token_mint(k, NULL, &c);
}

/* Reads a whole file into a malloc'd NUL-terminated buffer. Returns NULL if it cannot. */
static char *ts_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
out:
	fclose(f);
	return buf;
}

/* Prints the last TS_LOG_TAIL_BYTES of a log file to stderr under a heading (ctest shows it). */
static void ts_print_log_tail(const char *what, const char *path)
{
	size_t len = 0;
	char *text = ts_read_file(path, &len);
	const char *start;

	if (!text) {
		fprintf(stderr, "ts: %s (log %s unreadable)\n", what, path);
		return;
	}
	start = len > TS_LOG_TAIL_BYTES ? text + len - TS_LOG_TAIL_BYTES : text;
	fprintf(stderr, "ts: %s; last lines of %s:\n%s%s", what, path, start,
		len && text[len - 1] == '\n' ? "" : "\n");
	free(text);
}

/* A new environment: the current one with each "K=V" of extra replacing or adding K. The array
 * and its strings are malloc'd; free with ts_env_free(). Built before fork() so the child only
 * calls async-signal-safe functions. */
static char **ts_env_build(const char *const *extra)
{
	size_t n_env = 0, n_extra = 0, n = 0;
	char **env;

	while (environ && environ[n_env])
		n_env++;
	while (extra && extra[n_extra])
		n_extra++;
	env = ts_xmalloc((n_env + n_extra + 1) * sizeof(*env));
	for (size_t i = 0; i < n_env; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int overridden = 0;

		for (size_t j = 0; j < n_extra; j++) {
			if (strncmp(extra[j], environ[i], klen) == 0 && extra[j][klen] == '=') {
				overridden = 1;
				break;
			}
		}
		if (!overridden)
			env[n++] = ts_xstrdup(environ[i]);
	}
	for (size_t j = 0; j < n_extra; j++) {
		/* A later duplicate of the same key in extra wins: drop the earlier one. */
		const char *eq = strchr(extra[j], '=');
		size_t klen = eq ? (size_t)(eq - extra[j]) : strlen(extra[j]);
		int later = 0;

		for (size_t k = j + 1; k < n_extra; k++) {
			if (strncmp(extra[k], extra[j], klen) == 0 && extra[k][klen] == '=')
				later = 1;
		}
		if (!later)
			env[n++] = ts_xstrdup(extra[j]);
	}
	env[n] = NULL;
	return env;
}

static void ts_env_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* Forks and execs binary with argv/envp, stdin from /dev/null and stdout+stderr appended to
 * log_path, no other descriptor inherited. The child dies with its parent (PR_SET_PDEATHSIG), so
 * a crashed or timed-out test leaves no daemons behind. Returns the pid or -1 (errno-style message on stderr). */
static pid_t ts_fork_exec(const char *binary, char *const argv[], char *const envp[],
			  const char *log_path)
{
	pid_t parent = getpid();
	pid_t pid;
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (logfd < 0 || nullfd < 0) {
		fprintf(stderr, "ts: cannot open %s or /dev/null: %s\n", log_path, strerror(errno));
		pid = -1;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ts: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* Nothing else of the test leaks into the daemon (sockets, check's files). */
		close_range(3, ~0U, 0);
		execve(binary, argv, envp);
		{
			static const char msg[] = "ts: execve failed for the daemon binary\n";
			ssize_t w = write(2, msg, sizeof(msg) - 1);
			(void)w;
		}
		_exit(127);
	}
out:
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	return pid;
}

/* Maps a waitpid status to ts_stop's convention. */
static int ts_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Waits up to timeout_ms for pid. Returns the ts_exit_code, or -2 if still running. */
static int ts_wait_pid(pid_t pid, int timeout_ms)
{
	long long deadline = clock_mono_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return ts_exit_code(status);
		if (r < 0 && errno != EINTR)
			return -1;
		if (clock_mono_ms() >= deadline)
			return -2;
		ts_sleep_ms(10);
	}
}

/* ---------------------------------------------------------------- PostgreSQL */

/* Connects to url with a 10 s connect timeout; aborts the test if it cannot. */
static PGconn *ts_pg_connect(const char *url)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {url, "10", NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);

	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char *msg = ts_fmt("%s", conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		ck_abort_msg("ts: cannot connect to %s: %s", url, msg);
	}
	return conn;
}

const char *ts_pg_admin_url(void)
{
	const char *file = getenv("TEST_PG_URL_FILE");
	char *text = NULL;
	size_t len = 0;

	pthread_mutex_lock(&ts_url_lock);
	if (ts_admin_url[0])
		goto out;
	if (!file || !*file) {
		pthread_mutex_unlock(&ts_url_lock);
		ck_abort_msg("ts: TEST_PG_URL_FILE is not set: run integration tests through ctest "
			     "(the `pg` fixture starts PostgreSQL), or export "
			     "TEST_PG_URL_FILE=<dir>/url after `scripts/pg.sh start <dir>`");
	}
	text = ts_read_file(file, &len);
	while (text && len && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			       text[len - 1] == ' '))
		text[--len] = '\0';
	if (!text || !len || len >= sizeof(ts_admin_url)) {
		free(text);
		pthread_mutex_unlock(&ts_url_lock);
		ck_abort_msg("ts: cannot read the test PostgreSQL URL from %s: did the ctest fixture "
			     "`pg_start` (scripts/pg.sh start) fail? See its output above.",
			     file);
	}
	memcpy(ts_admin_url, text, len + 1);
out:
	pthread_mutex_unlock(&ts_url_lock);
	free(text);
	return ts_admin_url;
}

/* The URL of database dbname on the server of url: url with its path (the part after the
 * authority, up to '?') replaced by "/dbname". Malloc'd. */
static char *ts_url_with_db(const char *url, const char *dbname)
{
	const char *scheme = strstr(url, "://");
	const char *auth = scheme ? scheme + 3 : url;
	const char *path = auth + strcspn(auth, "/?");
	const char *query = path + strcspn(path, "?");

	return ts_fmt("%.*s/%s%s", (int)(path - url), url, dbname, query);
}

char *ts_db_url_as(const char *db_url, const char *role)
{
	const char *scheme = strstr(db_url, "://");
	const char *auth = scheme ? scheme + 3 : db_url;
	size_t auth_len = strcspn(auth, "/?");
	const char *at = memchr(auth, '@', auth_len);
	const char *host = at ? at + 1 : auth;

	return ts_fmt("%.*s%s@%s", (int)(auth - db_url), db_url, role, host);
}

/* Path of db/setup/<file>: DB_SETUP_DIR, else beside MIGRATIONS_DIR (db/migrations/../setup). */
static char *ts_setup_path(const char *file)
{
	const char *dir = getenv("DB_SETUP_DIR");
	const char *mig = getenv("MIGRATIONS_DIR");

	if (dir && *dir)
		return ts_fmt("%s/%s", dir, file);
	if (!mig || !*mig)
		ck_abort_msg("ts: MIGRATIONS_DIR is not set (ctest sets it; db/setup is beside it)");
	return ts_fmt("%s/../setup/%s", mig, file);
}

int ts_db_setup_sql(const char *url, const char *file, char **err)
{
	char *path = ts_setup_path(file);
	char *sql = ts_read_file(path, NULL);
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int rc = 0;

	if (err)
		*err = NULL;
	if (!sql)
		ck_abort_msg("ts: cannot read %s: %s", path, strerror(errno));
	conn = ts_pg_connect(url);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (err)
			*err = ts_fmt("%s", PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	PQfinish(conn);
	free(sql);
	free(path);
	return rc;
}

/* Runs a setup file on url; aborts the test with the server's message if it fails. */
static void ts_db_setup_or_abort(const char *url, const char *file)
{
	char *err = NULL;

	if (ts_db_setup_sql(url, file, &err) != 0)
		ck_abort_msg("ts: db/setup/%s on %s failed: %s", file, url, err ? err : "?");
}

/* Runs `$CATALOG_BIN --migrate` against url; aborts the test with the migration log on failure. */
static void ts_migrate(const char *url, const char *dbname)
{
	const char *bin = getenv("CATALOG_BIN");
	const char *dir = getenv("MIGRATIONS_DIR");
	char *db_env = NULL, *dir_env = NULL, *log_path = NULL, **envp = NULL;
	char *argv[3];
	const char *extra[3];
	pid_t pid;
	int rc;

	if (!bin || !*bin)
		ck_abort_msg("ts: CATALOG_BIN is not set (ctest sets it; needed to run --migrate)");
	db_env = ts_fmt("DATABASE_URL=%s", url);
	dir_env = dir && *dir ? ts_fmt("MIGRATIONS_DIR=%s", dir) : NULL;
	log_path = ts_fmt("%s/migrate-%s.log", ts_tmpdir(), dbname);
	extra[0] = db_env;
	extra[1] = dir_env;
	extra[2] = NULL;
	envp = ts_env_build(extra);
	argv[0] = (char *)bin;
	argv[1] = (char *)"--migrate";
	argv[2] = NULL;
	pid = ts_fork_exec(bin, argv, envp, log_path);
	rc = pid < 0 ? -1 : ts_wait_pid(pid, TS_MIGRATE_TIMEOUT_MS);
	if (rc == -2) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (rc != 0) {
		ts_print_log_tail("migration failed", log_path);
		ck_abort_msg("ts: `%s --migrate` on %s %s (status %d); log: %s", bin, dbname,
			     rc == -2 ? "timed out" : "failed", rc, log_path);
	}
	unlink(log_path);
	ts_env_free(envp);
	free(db_env);
	free(dir_env);
	free(log_path);
}

/* Loads $SEED_FILE (plain SQL, no psql meta-commands) into url with one PQexec. */
static void ts_seed(const char *url)
{
	const char *file = getenv("SEED_FILE");
	char *sql = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	ExecStatusType st;

	if (!file || !*file)
		ck_abort_msg("ts: SEED_FILE is not set (ctest sets it)");
	sql = ts_read_file(file, NULL);
	if (!sql)
		ck_abort_msg("ts: cannot read SEED_FILE %s: %s", file, strerror(errno));
	conn = ts_pg_connect(url);
	res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char *msg = ts_fmt("%s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		free(sql);
		ck_abort_msg("ts: loading %s failed: %s", file, msg);
	}
	PQclear(res);
	PQfinish(conn);
	free(sql);
}

char *ts_db_create(int seed)
{
	const char *admin = ts_pg_admin_url();
	char dbname[64];
	char *sql = NULL, *url = NULL, *owner_url = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	unsigned rnd;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	rnd = (unsigned)now.tv_nsec ^ ((unsigned)getpid() << 16) ^ (unsigned)(uintptr_t)&now;
	snprintf(dbname, sizeof(dbname), "t_%ld_%u_%04x", (long)getpid(),
		 atomic_fetch_add(&ts_counter, 1), rnd & 0xffff);
	/* Roles are cluster-wide: the first database of a fresh server creates them, every later
	 * call finds them (roles.sql returns at once); parallel tests are safe (see roles.sql). */
	ts_db_setup_or_abort(admin, "roles.sql");
	sql = ts_fmt("CREATE DATABASE %s OWNER " TS_ROLE_OWNER, dbname);
	conn = ts_pg_connect(admin);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char *msg = ts_fmt("%s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		free(sql);
		ck_abort_msg("ts: %s failed: %s", dbname, msg);
	}
	PQclear(res);
	PQfinish(conn);
	free(sql);

	url = ts_url_with_db(admin, dbname);
	ts_db_setup_or_abort(url, "database.sql");
	owner_url = ts_db_url_as(url, TS_ROLE_OWNER);
	free(url);
	ts_migrate(owner_url, dbname);
	if (seed)
		ts_seed(owner_url);
	return owner_url;
}

char *ts_sql(const char *url, const char *sql)
{
	PGconn *conn = ts_pg_connect(url);
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	char *value = NULL;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char *msg = ts_fmt("%s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		ck_abort_msg("ts: SQL failed: %s\n  statement: %s", msg, sql);
	}
	if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		value = ts_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return value;
}

/* ---------------------------------------------------------------- processes */

int ts_free_port(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		ck_abort_msg("ts: socket: %s", strerror(errno));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	close(fd);
	if (port <= 0)
		ck_abort_msg("ts: no free port on 127.0.0.1: %s", strerror(errno));
	return port;
}

/* Fills p, starts binary. Shared by ts_spawn and ts_spawn_nowait. */
static int ts_start(struct ts_proc *p, const char *binary, const char *const *env)
{
	size_t n_env = 0;
	const char **extra = NULL;
	char *port_env = NULL, *admin_env = NULL, **envp = NULL, *argv[2];
	const char *base;
	int has_port = 0, has_admin = 0, has_host = 0, rc = -1;
	int has_jwks = 0, has_iss = 0, has_aud = 0, has_internal = 0;
	char *jwks_env = NULL;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (!binary || !*binary)
		ck_abort_msg("ts_spawn: no binary (is CATALOG_BIN/ORDER_BIN set? ctest sets them)");
	if (access(binary, X_OK) != 0)
		ck_abort_msg("ts_spawn: %s is not executable: %s", binary, strerror(errno));
	while (env && env[n_env]) {
		if (strncmp(env[n_env], "PORT=", 5) == 0) {
			char *end;
			long v = strtol(env[n_env] + 5, &end, 10);
			has_port = 1;
			p->port = (end != env[n_env] + 5 && *end == '\0' && v > 0 && v < 65536)
					  ? (int)v
					  : 0;
		}
		if (strncmp(env[n_env], "ADMIN_PORT=", 11) == 0) {
			char *end;
			long v = strtol(env[n_env] + 11, &end, 10);
			has_admin = 1;
			p->admin_port = (end != env[n_env] + 11 && *end == '\0' && v > 0 &&
					 v < 65536)
						? (int)v
						: 0;
		}
		if (strncmp(env[n_env], "HOST=", 5) == 0)
			has_host = 1;
		/* AUTH_DISABLED=1 counts as the test's own authentication setting. */
		if (strncmp(env[n_env], "AUTH_JWKS=", 10) == 0 ||
		    strncmp(env[n_env], "AUTH_DISABLED=", 14) == 0)
			has_jwks = 1;
		if (strncmp(env[n_env], "AUTH_ISSUER=", 12) == 0)
			has_iss = 1;
		if (strncmp(env[n_env], "AUTH_AUDIENCE=", 14) == 0)
			has_aud = 1;
		if (strncmp(env[n_env], "INTERNAL_API_TOKEN=", 19) == 0)
			has_internal = 1;
		n_env++;
	}
	if (!has_port)
		p->port = ts_free_port();
	/* Several daemons run side by side: each gets its own admin port (the default would
	 * collide). */
	if (!has_admin) {
		do
			p->admin_port = ts_free_port();
		while (p->admin_port == p->port);
	}
	extra = ts_xmalloc((n_env + 8) * sizeof(*extra));
	for (size_t i = 0; i < n_env; i++)
		extra[i] = env[i];
	if (!has_port) {
		port_env = ts_fmt("PORT=%d", p->port);
		extra[n_env++] = port_env;
	}
	if (!has_admin) {
		admin_env = ts_fmt("ADMIN_PORT=%d", p->admin_port);
		extra[n_env++] = admin_env;
	}
	if (!has_host)
		extra[n_env++] = "HOST=127.0.0.1";
	/* Authentication on, with the test key (ts_token signs with it) and the internal token. */
	if (!has_jwks) {
		jwks_env = ts_fmt("AUTH_JWKS=%s", ts_jwks_path());
		extra[n_env++] = jwks_env;
	}
	if (!has_iss)
		extra[n_env++] = "AUTH_ISSUER=" TS_ISSUER;
	if (!has_aud)
		extra[n_env++] = "AUTH_AUDIENCE=" TS_AUDIENCE;
	if (!has_internal)
		extra[n_env++] = "INTERNAL_API_TOKEN=" TS_INTERNAL_TOKEN;
	extra[n_env] = NULL;
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
	if (p->admin_port > 0)
		snprintf(p->admin_url, sizeof(p->admin_url), "http://127.0.0.1:%d", p->admin_port);
	base = strrchr(binary, '/');
	base = base ? base + 1 : binary;
	snprintf(p->log_path, sizeof(p->log_path), "%s/%s-%ld-%u.log", ts_tmpdir(), base,
		 (long)getpid(), atomic_fetch_add(&ts_counter, 1));
	unlink(p->log_path);
	envp = ts_env_build(extra);
	argv[0] = (char *)binary;
	argv[1] = NULL;
	p->pid = ts_fork_exec(binary, argv, envp, p->log_path);
	rc = p->pid > 0 ? 0 : -1;
	ts_env_free(envp);
	free(extra);
	free(port_env);
	free(admin_env);
	free(jwks_env);
	return rc;
}

static size_t ts_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* One GET base/health with a short timeout; returns the status or 0. */
static long ts_health(const char *base)
{
	CURL *h = curl_easy_init();
	char *url = ts_fmt("%s/health", base);
	long status = 0;

	if (!h)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ts_discard);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
out:
	curl_easy_cleanup(h);
	free(url);
	return status;
}

int ts_spawn(struct ts_proc *p, const char *binary, const char *const *env)
{
	long long deadline;
	int rc = -1;

	ts_init();
	if (ts_start(p, binary, env) != 0)
		goto out;
	deadline = clock_mono_ms() + TS_HEALTH_WAIT_MS;
	for (;;) {
		int code = ts_wait_pid(p->pid, 0);

		if (code != -2) {
			char *what = ts_fmt("%s exited with status %d before answering /health",
					    binary, code);
			ts_print_log_tail(what, p->log_path);
			free(what);
			p->pid = -1;
			goto out;
		}
		if (ts_health(p->url) == 200) {
			rc = 0;
			goto out;
		}
		if (clock_mono_ms() >= deadline)
			break;
		ts_sleep_ms(20);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = -1;
	{
		char *what = ts_fmt("%s did not answer GET %s/health within %d ms (killed)", binary,
				    p->url, TS_HEALTH_WAIT_MS);
		ts_print_log_tail(what, p->log_path);
		free(what);
	}
out:
	return rc;
}

int ts_spawn_nowait(struct ts_proc *p, const char *binary, const char *const *env)
{
	ts_init();
	return ts_start(p, binary, env);
}

int ts_stop(struct ts_proc *p, int sig, int timeout_ms)
{
	int code;

	if (p->pid <= 0)
		return -1;
	if (sig > 0)
		kill(p->pid, sig);
	code = ts_wait_pid(p->pid, timeout_ms);
	if (code == -2) {
		fprintf(stderr, "ts_stop: pid %ld did not exit within %d ms of signal %d; SIGKILL\n",
			(long)p->pid, timeout_ms, sig);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		code = -1;
	}
	p->pid = -1;
	return code;
}

int ts_system(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int status;

	va_start(ap, fmt);
	cmd = ts_vfmt(fmt, ap);
	va_end(ap);
	status = system(cmd);
	free(cmd);
	if (status == -1)
		return -1;
	return ts_exit_code(status);
}

/* ---------------------------------------------------------------- HTTP */

struct ts_buf {
	char *data;
	size_t len, cap;
};

static void ts_buf_add(struct ts_buf *b, const char *p, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap - b->len < n + 1)
			cap *= 2;
		char *nd = realloc(b->data, cap);
		if (!nd) {
			fprintf(stderr, "ts: out of memory\n");
			abort();
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static size_t ts_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	ts_buf_add(userdata, ptr, size * nmemb);
	return size * nmemb;
}

/* Keeps only the header block of the last response (a 100 Continue block is dropped). */
static size_t ts_on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct ts_buf *b = userdata;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		b->len = 0;
	ts_buf_add(b, ptr, n);
	return n;
}

/* True if one of headers names hdr ("Name:" prefix, case-insensitive). */
static int ts_has_header(const char *const *headers, const char *hdr)
{
	size_t n = strlen(hdr);

	for (size_t i = 0; headers && headers[i]; i++) {
		if (strncasecmp(headers[i], hdr, n) == 0 && headers[i][n] == ':')
			return 1;
	}
	return 0;
}

int ts_http(struct ts_resp *resp, const char *method, const char *url, const char *body,
	    const char *const *headers)
{
	CURL *h = NULL;
	struct curl_slist *list = NULL, *tmp;
	struct ts_buf rbody = {0}, rhead = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc = -1;

	ts_init();
	memset(resp, 0, sizeof(*resp));
	ts_buf_add(&rbody, "", 0);
	ts_buf_add(&rhead, "", 0);
	h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "ts_http: curl_easy_init failed\n");
		goto out;
	}
	for (size_t i = 0; headers && headers[i]; i++) {
		tmp = curl_slist_append(list, headers[i]);
		if (!tmp)
			goto oom;
		list = tmp;
	}
	if (!ts_has_header(headers, "Authorization")) {
		/* The default caller: the internal token on the reservations API, an admin
		 * elsewhere. "Authorization:" among headers sends none (curl drops it). */
		char *auth = ts_fmt("Authorization: Bearer %s", strstr(url, "/reservations") != NULL
									? ts_internal_token()
									: ts_admin_token());

		tmp = curl_slist_append(list, auth);
		free(auth);
		if (!tmp)
			goto oom;
		list = tmp;
	}
	if (body && !ts_has_header(headers, "Content-Type")) {
		tmp = curl_slist_append(list, "Content-Type: application/json");
		if (!tmp)
			goto oom;
		list = tmp;
	}
	/* libcurl's default Expect: 100-continue for large bodies stays on: a server that rejects the
	 * body early (413 from Content-Length) then answers before we send it, instead of resetting
	 * the connection under a half-sent upload. */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TS_HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)TS_HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ts_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &rbody);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ts_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &rhead);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || body)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		fprintf(stderr, "ts_http: %s %s: %s\n", method, url,
			errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->json = json_loadb(rbody.data, rbody.len, JSON_DECODE_ANY, NULL);
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "ts_http: out of memory\n");
out:
	resp->body = rbody.data;
	resp->body_len = rbody.len;
	resp->headers = rhead.data;
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
	return rc;
}

int ts_req(struct ts_resp *resp, const char *method, const char *base, const char *body,
	   const char *path_fmt, ...)
{
	va_list ap;
	char *path, *url;
	int rc;

	va_start(ap, path_fmt);
	path = ts_vfmt(path_fmt, ap);
	va_end(ap);
	url = ts_fmt("%s%s", base, path);
	rc = ts_http(resp, method, url, body, NULL);
	free(url);
	free(path);
	return rc;
}

char *ts_header(const struct ts_resp *resp, const char *name)
{
	size_t n = strlen(name);
	const char *line = resp->headers;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			const char *e = line + len;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			char *out = ts_xmalloc((size_t)(e - v) + 1);
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return out;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

void ts_resp_free(struct ts_resp *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->headers);
	json_decref(resp->json);
	memset(resp, 0, sizeof(*resp));
}

const char *ts_str(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long ts_int(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}
