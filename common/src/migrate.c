/* migrate.c - the migration runner, db_migrate() (see db.h).
 *
 * Files named NNNN_*.sql in the folder are applied in byte order of their names. Each runs
 * with its version row in one transaction, so a failing file leaves nothing behind; a file must
 * therefore not contain its own BEGIN/COMMIT or statements that refuse a transaction (CREATE
 * INDEX CONCURRENTLY). The version is the file name without ".sql" ("0001_init").
 *
 * Concurrency: the whole run holds a session advisory lock on a dedicated connection, so
 * replicas starting together queue up; the second one finds every version already recorded. */
#include "common/db.h"

#include <libpq-fe.h>

#include "common/log.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An arbitrary constant shared by every service using this schema. */
#define MIGRATE_LOCK_KEY "7424935611720184001"
/* A database that is still starting gets this long to accept the connection (seconds). */
#define MIGRATE_CONNECT_TRIES 10
#define MIGRATE_MAX_FILE (16 * 1024 * 1024)

static void migrate_notice(void *arg, const char *message)
{
	(void)arg;
	if (log_enabled(LOG_DEBUG))
		log_msg(LOG_DEBUG, NULL, "postgres: %.*s", (int)strcspn(message, "\n"), message);
}

/* True for names like "0001_init.sql": at least one digit, '_', anything, ".sql". */
static bool migrate_name_ok(const char *name)
{
	size_t len = strlen(name);
	size_t i = 0;

	while (name[i] >= '0' && name[i] <= '9')
		i++;
	return i > 0 && name[i] == '_' && len > i + 4 && strcmp(name + len - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the migration files of dir, sorted. Returns 0 with *names (count *n; caller frees each
 * and the array) or -1. */
static int migrate_list(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **list = NULL;
	char **grown;
	size_t count = 0;
	size_t cap = 0;
	int rc = -1;

	if (d == NULL) {
		log_msg(LOG_ERROR, NULL, "migrate: cannot open %s", dir);
		return -1;
	}
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		if (!migrate_name_ok(e->d_name))
			continue;
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			grown = realloc(list, cap * sizeof(*list));
			if (grown == NULL)
				goto out;
			list = grown;
		}
		list[count] = strdup(e->d_name);
		if (list[count] == NULL)
			goto out;
		count++;
	}
	if (count > 0)
		qsort(list, count, sizeof(*list), cmp_names);
	rc = 0;
out:
	closedir(d);
	if (rc != 0) {
		for (size_t i = 0; i < count; i++)
			free(list[i]);
		free(list);
		log_msg(LOG_ERROR, NULL, "migrate: out of memory listing %s", dir);
		return -1;
	}
	*names = list;
	*n = count;
	return 0;
}

/* Reads a whole file (NUL-terminated, malloc'd) or returns NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *text = NULL;
	size_t got;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > MIGRATE_MAX_FILE)
		goto out;
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL)
		goto out;
	got = fread(text, 1, (size_t)st.st_size, f);
	if (got != (size_t)st.st_size) {
		free(text);
		text = NULL;
		goto out;
	}
	text[got] = '\0';
out:
	fclose(f);
	return text;
}

/* Runs sql; returns 0 if it succeeded, else logs what (with the server's message) and -1. */
static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType es = PQresultStatus(res);
	int rc = 0;

	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(pg);

		log_msg(LOG_ERROR, NULL, "migrate: %s failed: %.*s", what, (int)strcspn(msg, "\n"),
			msg);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static PGconn *migrate_connect(const char *conninfo)
{
	const char *keys[] = { "dbname", "application_name", "options", "connect_timeout", NULL };
	const char *vals[] = { conninfo, "migrate",
			       "-c TimeZone=UTC -c statement_timeout=0 -c lock_timeout=0 "
			       "-c client_min_messages=warning",
			       "5", NULL };
	const char *const *k = keys;
	const char *const *v = vals;
	PGconn *pg = NULL;
	struct timespec pause = { 1, 0 };

	/* Without a conninfo libpq reads the PG* variables. */
	if (conninfo == NULL || conninfo[0] == '\0') {
		k = keys + 1;
		v = vals + 1;
	}
	for (int attempt = 1; attempt <= MIGRATE_CONNECT_TRIES; attempt++) {
		pg = PQconnectdbParams(k, v, 1);
		if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
			break;
		log_msg(attempt == MIGRATE_CONNECT_TRIES ? LOG_ERROR : LOG_WARN, NULL,
			"migrate: cannot connect (attempt %d/%d): %.*s", attempt,
			MIGRATE_CONNECT_TRIES,
			pg != NULL ? (int)strcspn(PQerrorMessage(pg), "\n") : 13,
			pg != NULL ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		pg = NULL;
		if (attempt < MIGRATE_CONNECT_TRIES)
			nanosleep(&pause, NULL);
	}
	if (pg != NULL)
		PQsetNoticeProcessor(pg, migrate_notice, NULL);
	return pg;
}

/* True when version is recorded. Returns 1, 0, or -1 on error. */
static int migrate_applied(PGconn *pg, const char *version)
{
	const char *params[1] = { version };
	PGresult *res = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
				     NULL, params, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, NULL, "migrate: reading schema_migrations failed: %.*s",
			(int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		rc = -1;
	} else {
		rc = PQntuples(res) > 0 ? 1 : 0;
	}
	PQclear(res);
	return rc;
}

/* Applies one file in its own transaction with its version row. Returns 0 or -1 (logged). */
static int migrate_apply(PGconn *pg, const char *dir, const char *name)
{
	char path[4096];
	char version[256];
	char what[300];
	char *sql = NULL;
	const char *params[1] = { version };
	PGresult *res = NULL;
	int rc = -1;
	size_t vlen = strlen(name) - 4;

	if (vlen >= sizeof(version) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		log_msg(LOG_ERROR, NULL, "migrate: name too long: %s", name);
		return -1;
	}
	memcpy(version, name, vlen);
	version[vlen] = '\0';
	sql = read_file(path);
	if (sql == NULL) {
		log_msg(LOG_ERROR, NULL, "migrate: cannot read %s", path);
		return -1;
	}
	if (exec_ok(pg, "BEGIN", "BEGIN") != 0)
		goto out;
	snprintf(what, sizeof(what), "migration %s", version);
	if (exec_ok(pg, sql, what) != 0)
		goto out;
	res = PQexecParams(pg, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL,
			   params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(LOG_ERROR, NULL, "migrate: recording %s failed: %.*s", version,
			(int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		goto out;
	}
	if (exec_ok(pg, "COMMIT", "COMMIT") != 0)
		goto out;
	log_msg(LOG_INFO, NULL, "migrate: applied %s", version);
	rc = 0;
out:
	if (rc != 0 && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	PQclear(res);
	free(sql);
	return rc;
}

int db_migrate(const char *conninfo, const char *dir)
{
	PGconn *pg = NULL;
	char **names = NULL;
	size_t n = 0;
	size_t applied = 0;
	bool locked = false;
	int rc = -1;
	int done;
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		dir = (stat("/migrations", &st) == 0 && S_ISDIR(st.st_mode)) ? "/migrations"
									 : "db/migrations";
	if (migrate_list(dir, &names, &n) != 0)
		goto out;
	pg = migrate_connect(conninfo);
	if (pg == NULL)
		goto out;
	if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the lock") != 0)
		goto out;
	locked = true;
	if (exec_ok(pg,
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    " version text PRIMARY KEY,"
		    " applied_at timestamptz NOT NULL DEFAULT now())",
		    "creating schema_migrations") != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char version[256];
		size_t vlen = strlen(names[i]) - 4;

		if (vlen >= sizeof(version)) {
			log_msg(LOG_ERROR, NULL, "migrate: name too long: %s", names[i]);
			goto out;
		}
		memcpy(version, names[i], vlen);
		version[vlen] = '\0';
		done = migrate_applied(pg, version);
		if (done < 0)
			goto out;
		if (done == 1)
			continue;
		if (migrate_apply(pg, dir, names[i]) != 0)
			goto out;
		applied++;
	}
	log_msg(LOG_INFO, NULL, "migrate: %zu applied, %zu already present", applied, n - applied);
	rc = 0;
out:
	if (locked)
		exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the lock");
	PQfinish(pg);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
