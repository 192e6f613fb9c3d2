/* test_migrate_checksum.c - migrations record the SHA-256 of each applied file; a changed
 * applied file fails `--migrate` (naming the file, applying nothing) and stops both daemons from
 * starting; a database migrated before checksums were kept gets them at the next --migrate. */
#include "test_catalog_common.h"

#include <sys/wait.h>

static char *m_db;
static char m_dir[512]; /* this test's copy of db/migrations */
static char m_log[600];

static void setup(void)
{
	m_db = ts_db_create(0);
	snprintf(m_dir, sizeof m_dir, "%s/migrations-%d", c_env("TEST_TMPDIR"), (int)getpid());
	snprintf(m_log, sizeof m_log, "%s.log", m_dir);
	ck_assert_int_eq(ts_system("rm -rf '%s' && mkdir -p '%s' && cp '%s'/*.sql '%s'/", m_dir,
				   m_dir, c_env("MIGRATIONS_DIR"), m_dir),
			 0);
}

static void teardown(void)
{
	ts_system("rm -rf '%s' '%s'", m_dir, m_log);
	free(m_db);
	m_db = NULL;
}

/* `bin --migrate` on the test database with MIGRATIONS_DIR=m_dir; its output goes to m_log. */
static int migrate(const char *bin)
{
	return ts_system("DATABASE_URL='%s' MIGRATIONS_DIR='%s' '%s' --migrate >'%s' 2>&1", m_db,
			 m_dir, bin, m_log);
}

/* Starts bin as a daemon on a free port, connected as its service role (which may not read
 * schema_migrations itself), without an admin listener (so a failed bind cannot pass for a
 * refusal), and gives it 20 s: the exit status if it stopped by itself, 124 if it was still
 * running (then stopped). Output in m_log. */
static int start_daemon(const char *bin, const char *role)
{
	char *url = ts_db_url_as(m_db, role);
	int rc = ts_system("DATABASE_URL='%s' MIGRATIONS_DIR='%s' PORT=%d ADMIN_PORT=0 "
			   "CATALOG_SERVICE_URL=http://127.0.0.1:1 timeout 20 '%s' >'%s' 2>&1",
			   url, m_dir, ts_free_port(), bin, m_log);

	free(url);
	return rc;
}

static int log_has(const char *text)
{
	return ts_system("grep -qF -- '%s' '%s'", text, m_log) == 0;
}

/* sha256sum's hex digest of the file (malloc'd). */
static char *file_sha256(const char *path)
{
	char out[600];
	char buf[80] = "";
	FILE *f;

	snprintf(out, sizeof out, "%s.sum", m_dir);
	ck_assert_int_eq(ts_system("sha256sum '%s' | cut -c1-64 >'%s'", path, out), 0);
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	ck_assert_uint_eq(strlen(buf), 64);
	return strdup(buf);
}

/* Every recorded version's checksum is sha256sum of its file in m_dir. */
static void assert_checksums_match_files(void)
{
	char *all = ts_sql(m_db, "SELECT string_agg(version, ' ' ORDER BY version) "
				 "FROM schema_migrations");
	char *save = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(all);
	for (char *v = strtok_r(all, " ", &save); v != NULL; v = strtok_r(NULL, " ", &save)) {
		char path[700], sql[300];
		char *want, *got;

		snprintf(path, sizeof path, "%s/%s.sql", m_dir, v);
		snprintf(sql, sizeof sql,
			 "SELECT checksum FROM schema_migrations WHERE version = '%s'", v);
		want = file_sha256(path);
		got = ts_sql(m_db, sql);
		ck_assert_msg(got != NULL, "%s has no checksum", v);
		ck_assert_str_eq(got, want);
		free(want);
		free(got);
		n++;
	}
	ck_assert_uint_ge(n, 2);
	free(all);
}

START_TEST(test_migrate_records_the_sha256_of_each_applied_file)
{
	char *n;

	/* ts_db_create applied the repository's files; the copy holds the same bytes. */
	assert_checksums_match_files();
	n = ts_sql(m_db, "SELECT count(*) FROM schema_migrations WHERE checksum IS NULL");
	ck_assert_str_eq(n, "0");
	free(n);
	/* Unchanged files: a second run applies nothing and succeeds. */
	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 0);
	ck_assert(log_has("migrate: 0 applied, "));
	ck_assert(!log_has("migrate: applied "));
}
END_TEST

START_TEST(test_changed_applied_migration_fails_migrate_naming_the_file)
{
	char *v;

	ck_assert_int_eq(ts_system("printf '\\n-- an edit after the fact\\n' >> '%s/0001_init.sql'",
				   m_dir),
			 0);
	/* A pending file too: nothing may be applied on top of a changed one. */
	ck_assert_int_eq(ts_system("echo 'CREATE TABLE t_pending (id int);' > '%s/0099_pending.sql'",
				   m_dir),
			 0);
	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 1);
	ck_assert_msg(log_has("0001_init.sql was changed after it was applied"),
		      "--migrate output does not name the file");
	ck_assert(!log_has("0002_orders_saga.sql was changed"));
	v = ts_sql(m_db, "SELECT coalesce(to_regclass('t_pending')::text, 'none')");
	ck_assert_str_eq(v, "none");
	free(v);
	v = ts_sql(m_db, "SELECT count(*) FROM schema_migrations WHERE version = '0099_pending'");
	ck_assert_str_eq(v, "0");
	free(v);
	/* The order service runs the same code. */
	ck_assert_int_eq(migrate(c_env("ORDER_BIN")), 1);
	ck_assert(log_has("0001_init.sql was changed after it was applied"));

	/* The applied text restored: the pending file goes in with its checksum. */
	ck_assert_int_eq(ts_system("cp '%s/0001_init.sql' '%s/'", c_env("MIGRATIONS_DIR"), m_dir),
			 0);
	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 0);
	v = ts_sql(m_db, "SELECT length(checksum) FROM schema_migrations "
			 "WHERE version = '0099_pending'");
	ck_assert_str_eq(v, "64");
	free(v);
}
END_TEST

START_TEST(test_daemons_refuse_to_start_on_a_changed_applied_migration)
{
	const char *bins[] = { c_env("CATALOG_BIN"), c_env("ORDER_BIN") };
	const char *roles[] = { TS_ROLE_CATALOG, TS_ROLE_ORDERS };

	ck_assert_int_eq(ts_system("sed -i 's/CREATE/create/' '%s/0002_orders_saga.sql'", m_dir), 0);
	for (size_t i = 0; i < 2; i++) {
		int rc = start_daemon(bins[i], roles[i]);

		ck_assert_msg(rc == 1, "%s started (or timed out: %d) with a changed migration",
			      bins[i], rc);
		ck_assert_msg(log_has("0002_orders_saga.sql was changed after it was applied"),
			      "%s does not name the file", bins[i]);
		ck_assert(log_has("refusing to start"));
	}
	/* The same files as applied: both serve (stopped by timeout, 124). */
	ck_assert_int_eq(ts_system("cp '%s/0002_orders_saga.sql' '%s/'", c_env("MIGRATIONS_DIR"),
				   m_dir),
			 0);
	for (size_t i = 0; i < 2; i++) {
		struct ts_proc p;
		char dburl[600], dirv[600];
		const char *env[] = { dburl, dirv, "CATALOG_SERVICE_URL=http://127.0.0.1:1", NULL };

		char *url = ts_db_url_as(m_db, roles[i]);

		snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", url);
		free(url);
		snprintf(dirv, sizeof dirv, "MIGRATIONS_DIR=%s", m_dir);
		ck_assert_msg(ts_spawn(&p, bins[i], env) == 0, "%s did not start, see %s", bins[i],
			      p.log_path);
		ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
		/* It did compare (as its role): no "not verified" warning. */
		ck_assert_msg(ts_system("grep -q 'migrations not verified' '%s'", p.log_path) != 0,
			      "%s could not verify the migrations, see %s", bins[i], p.log_path);
	}
}
END_TEST

START_TEST(test_database_migrated_before_checksums_gets_them)
{
	char *v;
	struct ts_proc p;
	char dburl[600], dirv[600];
	const char *env[] = { dburl, dirv, NULL };

	/* As migrated by a release without checksums. */
	free(ts_sql(m_db, "DROP FUNCTION schema_migrations_checksums()"));
	free(ts_sql(m_db, "ALTER TABLE schema_migrations DROP COLUMN checksum"));
	/* The daemon still starts (nothing to compare yet, a warning). */
	snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", m_db);
	snprintf(dirv, sizeof dirv, "MIGRATIONS_DIR=%s", m_dir);
	ck_assert_msg(ts_spawn(&p, c_env("CATALOG_BIN"), env) == 0, "did not start, see %s",
		      p.log_path);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
	ck_assert_int_eq(ts_system("grep -q 'migrations not verified' '%s'", p.log_path), 0);

	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 0);
	ck_assert(log_has("recorded the checksum of 0001_init"));
	assert_checksums_match_files();
	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 0);
	ck_assert(!log_has("recorded the checksum"));
	v = ts_sql(m_db, "SELECT count(*) FROM schema_migrations WHERE checksum IS NULL");
	ck_assert_str_eq(v, "0");
	free(v);
	/* From now on a change is caught. */
	ck_assert_int_eq(ts_system("printf ' ' >> '%s/0001_init.sql'", m_dir), 0);
	ck_assert_int_eq(migrate(c_env("CATALOG_BIN")), 1);
	ck_assert(log_has("0001_init.sql was changed after it was applied"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("migrate_checksum");
	TCase *tc = tcase_create("checksum");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_migrate_records_the_sha256_of_each_applied_file);
	tcase_add_test(tc, test_changed_applied_migration_fails_migrate_naming_the_file);
	tcase_add_test(tc, test_daemons_refuse_to_start_on_a_changed_applied_migration);
	tcase_add_test(tc, test_database_migrated_before_checksums_gets_them);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
