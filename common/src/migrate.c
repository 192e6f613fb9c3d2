/* migrate.c - the migration runner, db_migrate() (see db.h).
 *
 * Files named NNNN_*.sql in the folder are applied in byte order of their names. Each runs
 * with its version row in one transaction, so a failing file leaves nothing behind; a file must
 * therefore not contain its own BEGIN/COMMIT or statements that refuse a transaction (CREATE
 * INDEX CONCURRENTLY). The version is the file name without ".sql" ("0001_init").
 *
 * Concurrency: the whole run holds a session advisory lock on a dedicated connection, so
 * replicas starting together queue up; the second one finds every version already recorded.
 *
 * Checksums: each version row records the SHA-256 of its file (computed by the server's sha256()
 * over the file's bytes, so `sha256sum db/migrations/X.sql` gives the same hex). Before applying
 * anything, every applied file is compared with its record: a changed applied migration is an
 * error naming the file (the run applies nothing), never silently skipped. Databases migrated
 * before checksums were kept get the column (ADD COLUMN IF NOT EXISTS) and their rows are filled
 * from the files as they are now. db_migrate_verify() makes the same comparison, read-only, when a
 * daemon starts. */
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
/* The services' roles may not read schema_migrations (db/README.md: no migration bookkeeping for
 * them), yet a daemon compares the checksums at start: this owner-defined function hands out the
 * versions and checksums only, and nothing else (SECURITY DEFINER, fixed search_path). EXECUTE
 * stays PUBLIC's, and PUBLIC may not even connect: the owner and the service groups call it. */
#define MIGRATE_CHECKSUMS_FN \
	"CREATE OR REPLACE FUNCTION schema_migrations_checksums()" \
	" RETURNS TABLE (version text, checksum text)" \
	" LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS" \
	" $$SELECT m.version, m.checksum FROM public.schema_migrations m" \
	" WHERE m.checksum IS NOT NULL$$"

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

/* Reads a whole file (NUL-terminated, malloc'd; its size in *len) or returns NULL. */
static char *read_file(const char *path, size_t *len)
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
	*len = got;
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

/* The SHA-256 (64 hex digits + NUL in out) of len bytes, computed by the server: the bytes go as
 * a binary bytea parameter, so any content hashes exactly. Returns 0 or -1 (logged). */
static int migrate_sha256(PGconn *pg, const char *data, size_t len, char *out)
{
	const Oid types[1] = { 17 }; /* bytea */
	const char *values[1] = { data };
	const int lengths[1] = { (int)len };
	const int formats[1] = { 1 };
	PGresult *res = PQexecParams(pg, "SELECT encode(sha256($1), 'hex')", 1, types, values,
				     lengths, formats, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQgetlength(res, 0, 0) != 64) {
		log_msg(LOG_ERROR, NULL, "migrate: computing a checksum failed: %.*s",
			(int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
	} else {
		memcpy(out, PQgetvalue(res, 0, 0), 65);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Reads dir/name and hashes it into sum (65 bytes). Returns the text (caller frees; its size in
 * *len) or NULL (logged). */
static char *migrate_read(PGconn *pg, const char *dir, const char *name, size_t *len, char *sum)
{
	char path[4096];
	char *sql;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		log_msg(LOG_ERROR, NULL, "migrate: name too long: %s", name);
		return NULL;
	}
	sql = read_file(path, len);
	if (sql == NULL) {
		log_msg(LOG_ERROR, NULL, "migrate: cannot read %s", path);
		return NULL;
	}
	if (migrate_sha256(pg, sql, *len, sum) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* Looks version up. Returns 1 when recorded (its checksum copied to sum, "" when none was kept),
 * 0 when not, -1 on error (logged). */
static int migrate_recorded(PGconn *pg, const char *version, char *sum)
{
	const char *params[1] = { version };
	PGresult *res = PQexecParams(pg,
				     "SELECT coalesce(checksum, '') FROM schema_migrations "
				     "WHERE version = $1",
				     1, NULL, params, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, NULL, "migrate: reading schema_migrations failed: %.*s",
			(int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		rc = -1;
	} else if (PQntuples(res) == 0) {
		rc = 0;
	} else {
		snprintf(sum, 65, "%s", PQgetvalue(res, 0, 0));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

/* Logs that an applied file no longer matches what was applied. */
static void migrate_changed(const char *dir, const char *name, const char *recorded,
			    const char *now)
{
	log_msg(LOG_ERROR, NULL,
		"migrate: %s/%s was changed after it was applied (sha256 recorded %s, file now %s): "
		"restore the applied text and put the change in a new migration",
		dir, name, recorded, now);
}

/* Applies one file's text in its own transaction with its version row and checksum. Returns 0
 * or -1 (logged). */
static int migrate_apply(PGconn *pg, const char *version, const char *sql, const char *sum)
{
	char what[300];
	const char *params[2] = { version, sum };
	PGresult *res = NULL;
	int rc = -1;

	if (exec_ok(pg, "BEGIN", "BEGIN") != 0)
		goto out;
	snprintf(what, sizeof(what), "migration %s", version);
	if (exec_ok(pg, sql, what) != 0)
		goto out;
	res = PQexecParams(pg, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
			   2, NULL, params, NULL, NULL, 0);
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
	return rc;
}

/* Records the checksum of a version applied before checksums were kept. Returns 0 or -1. */
static int migrate_backfill(PGconn *pg, const char *version, const char *sum)
{
	const char *params[2] = { version, sum };
	PGresult *res = PQexecParams(pg,
				     "UPDATE schema_migrations SET checksum = $2 "
				     "WHERE version = $1 AND checksum IS NULL",
				     2, NULL, params, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(LOG_ERROR, NULL, "migrate: recording the checksum of %s failed: %.*s",
			version, (int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		rc = -1;
	} else {
		log_msg(LOG_INFO, NULL,
			"migrate: recorded the checksum of %s (applied before checksums were kept)",
			version);
	}
	PQclear(res);
	return rc;
}

/* The version of a file name ("0001_init.sql" -> "0001_init") into out (256 bytes). */
static int migrate_version(const char *name, char *out)
{
	size_t vlen = strlen(name) - 4;

	if (vlen >= 256) {
		log_msg(LOG_ERROR, NULL, "migrate: name too long: %s", name);
		return -1;
	}
	memcpy(out, name, vlen);
	out[vlen] = '\0';
	return 0;
}

/* The folder db_migrate and db_migrate_verify use for dir. */
static const char *migrate_dir(const char *dir)
{
	struct stat st;

	if (dir != NULL && dir[0] != '\0')
		return dir;
	return (stat("/migrations", &st) == 0 && S_ISDIR(st.st_mode)) ? "/migrations"
								 : "db/migrations";
}

int db_migrate(const char *conninfo, const char *dir)
{
	PGconn *pg = NULL;
	char **names = NULL;
	char **texts = NULL;
	char (*sums)[65] = NULL;
	size_t n = 0;
	size_t applied = 0;
	size_t changed = 0;
	bool locked = false;
	int rc = -1;

	dir = migrate_dir(dir);
	if (migrate_list(dir, &names, &n) != 0)
		goto out;
	texts = calloc(n + 1, sizeof(*texts));
	sums = calloc(n + 1, sizeof(*sums));
	if (texts == NULL || sums == NULL) {
		log_msg(LOG_ERROR, NULL, "migrate: out of memory");
		goto out;
	}
	pg = migrate_connect(conninfo);
	if (pg == NULL)
		goto out;
	if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the lock") != 0)
		goto out;
	locked = true;
	if (exec_ok(pg,
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    " version text PRIMARY KEY,"
		    " applied_at timestamptz NOT NULL DEFAULT now(),"
		    " checksum text)",
		    "creating schema_migrations") != 0 ||
	    exec_ok(pg, "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
		    "adding schema_migrations.checksum") != 0 ||
	    exec_ok(pg, MIGRATE_CHECKSUMS_FN, "creating schema_migrations_checksums()") != 0)
		goto out;
	/* First every applied file against its record, so a changed one stops the run before
	 * anything newer is applied on top of it. */
	for (size_t i = 0; i < n; i++) {
		char version[256];
		char recorded[65];
		size_t len;
		int done;

		if (migrate_version(names[i], version) != 0)
			goto out;
		texts[i] = migrate_read(pg, dir, names[i], &len, sums[i]);
		if (texts[i] == NULL)
			goto out;
		done = migrate_recorded(pg, version, recorded);
		if (done < 0)
			goto out;
		if (done == 0)
			continue;
		free(texts[i]); /* applied: only its checksum matters */
		texts[i] = NULL;
		if (recorded[0] == '\0') {
			if (migrate_backfill(pg, version, sums[i]) != 0)
				goto out;
		} else if (strcmp(recorded, sums[i]) != 0) {
			migrate_changed(dir, names[i], recorded, sums[i]);
			changed++;
		}
	}
	if (changed > 0) {
		log_msg(LOG_ERROR, NULL, "migrate: %zu applied migration(s) changed; nothing applied",
			changed);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char version[256];

		if (texts[i] == NULL)
			continue;
		if (migrate_version(names[i], version) != 0 ||
		    migrate_apply(pg, version, texts[i], sums[i]) != 0)
			goto out;
		applied++;
	}
	log_msg(LOG_INFO, NULL, "migrate: %zu applied, %zu already present", applied, n - applied);
	rc = 0;
out:
	if (locked)
		exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the lock");
	PQfinish(pg);
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		if (texts != NULL)
			free(texts[i]);
	}
	free(names);
	free(texts);
	free(sums);
	return rc;
}

int db_migrate_verify(const char *conninfo, const char *dir)
{
	const char *keys[] = { "dbname", "application_name", "options", "connect_timeout", NULL };
	const char *vals[] = { conninfo, "migrate-verify", "-c client_min_messages=warning", "5",
			       NULL };
	const bool use_url = conninfo != NULL && conninfo[0] != '\0';
	PGconn *pg = NULL;
	PGresult *res = NULL;
	struct stat st;
	size_t changed = 0;
	size_t checked = 0;
	int rc = 0;

	dir = migrate_dir(dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_msg(LOG_WARN, NULL,
			"migrations not verified: folder %s not found (set MIGRATIONS_DIR)", dir);
		return 0;
	}
	pg = PQconnectdbParams(use_url ? keys : keys + 1, use_url ? vals : vals + 1, 1);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		log_msg(LOG_WARN, NULL, "migrations not verified: cannot connect: %.*s",
			pg != NULL ? (int)strcspn(PQerrorMessage(pg), "\n") : 13,
			pg != NULL ? PQerrorMessage(pg) : "out of memory");
		goto out;
	}
	res = PQexec(pg, "SELECT version, checksum FROM schema_migrations_checksums() "
			 "ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* Not migrated yet, or by a release without checksums (42883: no such function):
		 * nothing to compare, which is not a reason to stop. */
		log_msg(LOG_WARN, NULL, "migrations not verified: %.*s (run --migrate)",
			(int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		char name[300];
		char path[4096];
		char sum[65];
		char *text;
		size_t len;

		snprintf(name, sizeof(name), "%s.sql", PQgetvalue(res, i, 0));
		/* A version this binary has no file for was applied by a newer release (a rolling
		 * upgrade): not ours to judge. */
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0)
			continue;
		text = migrate_read(pg, dir, name, &len, sum);
		if (text == NULL)
			break; /* logged; unverifiable is not a mismatch */
		free(text);
		checked++;
		if (strcmp(sum, PQgetvalue(res, i, 1)) != 0) {
			migrate_changed(dir, name, PQgetvalue(res, i, 1), sum);
			changed++;
		}
	}
	if (changed > 0) {
		log_msg(LOG_ERROR, NULL,
			"%zu applied migration(s) differ from %s: refusing to start", changed, dir);
		rc = -1;
	} else if (rc == 0) {
		log_msg(LOG_DEBUG, NULL, "migrations verified: %zu file(s) match", checked);
	}
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}
