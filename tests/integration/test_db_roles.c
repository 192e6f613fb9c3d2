/* test_db_roles.c - least privilege in PostgreSQL (issue 8, DECISIONS "Roles and secrets"):
 * the migrations run as the owner, each service connects as its own login role and PostgreSQL
 * itself refuses what a service has no business doing (permission denied, SQLSTATE 42501); the
 * setup (db/setup/roles.sql and database.sql, through scripts/db-setup.sh or the test
 * support) is idempotent and safe when several setups run at once; a single user-supplied
 * DATABASE_URL without the roles still migrates and runs (development only).
 *
 * Two servers: the ctest fixture (roles already there, throwaway databases) and, for what must
 * start from a server without the roles, a bare private server of this suite (scripts/pg.sh with
 * PG_SETUP_ROLES=0), reset by each test that uses it. */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_order_common.h"
#include "ts.h"

#define R_TIMEOUT_S 240

static char bare_dir[512];
static char bare_url[256];    /* superuser URL of the bare server's `postgres` database */
static char setup_script[512];

/* Runs sql on db as role and returns its SQLSTATE: "00000" when it succeeded, "08xxx" when the
 * connection failed. Copies it into out. */
static void state_as(const char *db, const char *role, const char *sql, char out[6])
{
	char *url = ts_db_url_as(db, role);
	const char *keys[] = { "dbname", "connect_timeout", NULL };
	const char *vals[] = { url, "10", NULL };
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	PGresult *res = NULL;
	const char *st = "08000";

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		res = PQexec(conn, sql);
		if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
			st = "00000";
		else if (PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
			st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		else
			st = "XX000";
	}
	memcpy(out, st, 5);
	out[5] = '\0';
	PQclear(res);
	PQfinish(conn);
	free(url);
}

static void assert_denied(const char *db, const char *role, const char *sql)
{
	char st[6];

	state_as(db, role, sql, st);
	ck_assert_msg(strcmp(st, "42501") == 0, "%s: `%s` gave SQLSTATE %s, want 42501 permission "
		      "denied", role, sql, st);
}

static void assert_allowed(const char *db, const char *role, const char *sql)
{
	char st[6];

	state_as(db, role, sql, st);
	ck_assert_msg(strcmp(st, "00000") == 0, "%s: `%s` gave SQLSTATE %s, want success", role,
		      sql, st);
}

/* ------------------------------------------------------------------ fixture server */

START_TEST(test_order_role_is_denied_the_catalogue)
{
	char *db = ts_db_create(1);
	static const char *const denied[] = {
		"SELECT * FROM books LIMIT 1",
		"UPDATE books SET quantity = 0",
		"INSERT INTO books (title, author, price) VALUES ('x', 'y', 1)",
		"DELETE FROM books",
		"SELECT * FROM reservations",
		"UPDATE books_count SET n = 0",
		"SELECT * FROM catalog_list_books(0, 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
		"'id')",
	};

	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
		assert_denied(db, TS_ROLE_ORDERS, denied[i]);
	/* ...while its own tables and the shared id sequence are open to it. */
	assert_allowed(db, TS_ROLE_ORDERS, "SELECT count(*) FROM orders");
	assert_allowed(db, TS_ROLE_ORDERS, "SELECT count(*) FROM order_intents");
	assert_allowed(db, TS_ROLE_ORDERS, "SELECT count(*) FROM idempotency_keys");
	assert_allowed(db, TS_ROLE_ORDERS, "SELECT nextval(pg_get_serial_sequence('orders', 'id'))");
	free(db);
}
END_TEST

START_TEST(test_catalog_role_is_denied_the_order_tables)
{
	char *db = ts_db_create(1);
	static const char *const denied[] = {
		"SELECT * FROM orders LIMIT 1",
		"UPDATE orders SET status = 'cancelled'",
		"DELETE FROM orders",
		"SELECT * FROM order_intents",
		"SELECT * FROM idempotency_keys",
		"UPDATE idempotency_keys SET state = 'done'",
		"SELECT nextval(pg_get_serial_sequence('orders', 'id'))",
	};

	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
		assert_denied(db, TS_ROLE_CATALOG, denied[i]);
	assert_allowed(db, TS_ROLE_CATALOG, "SELECT count(*) FROM books");
	assert_allowed(db, TS_ROLE_CATALOG, "SELECT count(*) FROM reservations");
	assert_allowed(db, TS_ROLE_CATALOG,
		       "SELECT * FROM catalog_list_books(0, 10, NULL, NULL, NULL, NULL, NULL, NULL, "
		       "NULL, 'id')");
	free(db);
}
END_TEST

START_TEST(test_service_roles_have_no_ddl_and_no_migration_bookkeeping)
{
	char *db = ts_db_create(0);
	const char *roles[] = { TS_ROLE_CATALOG, TS_ROLE_ORDERS };

	for (size_t i = 0; i < 2; i++) {
		assert_denied(db, roles[i], "CREATE TABLE intruder (a int)");
		assert_denied(db, roles[i], "SELECT * FROM schema_migrations");
		assert_denied(db, roles[i], "SELECT * FROM role_grants");
		assert_denied(db, roles[i], "SELECT apply_role_grants()");
		assert_denied(db, roles[i], "ALTER TABLE books ADD COLUMN x int");
		assert_denied(db, roles[i], "TRUNCATE orders");
		assert_denied(db, roles[i], "DROP TABLE books");
	}
	assert_denied(db, TS_ROLE_CATALOG, "TRUNCATE books");
	free(db);
}
END_TEST

START_TEST(test_migrations_run_as_the_owner_and_no_role_is_a_superuser)
{
	char *db = ts_db_create(0);
	char *v;

	v = ts_sql(db, "SELECT current_user");
	ck_assert_str_eq(v, TS_ROLE_OWNER);
	free(v);
	/* Every table, sequence and function of the schema belongs to the owner. */
	v = ts_sql(db, "SELECT string_agg(c.relname, ', ') FROM pg_class c JOIN pg_namespace n ON "
		       "n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', "
		       "'S', 'v', 'm', 'p') AND c.relowner <> 'bookstore_owner'::regrole");
	ck_assert_msg(v == NULL, "not owned by bookstore_owner: %s", v);
	v = ts_sql(db, "SELECT count(*) FROM schema_migrations WHERE version = "
		       "'0006_roles_grants'");
	ck_assert_str_eq(v, "1");
	free(v);
	v = ts_sql(db, "SELECT string_agg(rolname || ':' || rolcanlogin || ':' || rolsuper || ':' "
		       "|| rolcreaterole || ':' || rolcreatedb, ' ' ORDER BY rolname) FROM pg_roles "
		       "WHERE rolname IN ('bookstore_owner', 'catalog', 'orders', 'catalog_app', "
		       "'orders_app')");
	ck_assert_str_eq(v, "bookstore_owner:true:false:false:false catalog:false:false:false:false "
			    "catalog_app:true:false:false:false orders:false:false:false:false "
			    "orders_app:true:false:false:false");
	free(v);
	/* The login roles get their rights through their group only. */
	v = ts_sql(db, "SELECT pg_has_role('catalog_app', 'catalog', 'MEMBER') AND "
		       "pg_has_role('orders_app', 'orders', 'MEMBER') AND NOT "
		       "pg_has_role('orders_app', 'catalog', 'MEMBER') AND NOT "
		       "pg_has_role('catalog_app', 'orders', 'MEMBER') AND NOT "
		       "pg_has_role('catalog_app', 'bookstore_owner', 'MEMBER')");
	ck_assert_str_eq(v, "t");
	free(v);
	/* PUBLIC may not connect; only the owner and the groups may. */
	v = ts_sql(db, "SELECT has_database_privilege('public', current_database(), 'CONNECT')");
	ck_assert_str_eq(v, "f");
	free(v);
	free(db);
}
END_TEST

/* The grants equal the map, and no table is left without one: a migration that adds a table and
 * forgets its role_grants row fails here, naming the table (db/README.md, "the rule"). */
START_TEST(test_every_table_is_granted_exactly_to_its_service_group)
{
	char *db = ts_db_create(0);
	char *v;

	v = ts_sql(db, "SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c "
		       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
		       "c.relkind IN ('r', 'p', 'v', 'm') AND c.relname NOT IN ('schema_migrations', "
		       "'role_grants') AND NOT EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE "
		       "a.grantee IN ('catalog'::regrole, 'orders'::regrole))");
	ck_assert_msg(v == NULL, "tables granted to no service group role (add them to role_grants "
		      "in their migration): %s", v);
	/* Exactly what the map says, nothing more (sequences: USAGE where the group inserts). */
	v = ts_sql(db, "WITH have AS (SELECT c.relname, a.grantee::regrole::text AS g, "
		       "string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS p "
		       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
		       "aclexplode(c.relacl) a WHERE n.nspname = 'public' AND c.relkind <> 'S' AND "
		       "a.grantee <> c.relowner GROUP BY 1, 2), "
		       "want AS (SELECT m.table_name AS relname, m.role_name AS g, "
		       "(SELECT string_agg(x, ', ' ORDER BY x) FROM unnest(string_to_array("
		       "m.privileges, ', ')) x) AS p FROM role_grants m WHERE "
		       "to_regclass(m.table_name) IS NOT NULL) "
		       "SELECT string_agg(coalesce(h.relname, w.relname) || ' ' || coalesce(h.g, w.g) "
		       "|| ' has [' || coalesce(h.p, '') || '] want [' || coalesce(w.p, '') || ']', "
		       "'; ') FROM have h FULL JOIN want w ON h.relname = w.relname AND h.g = w.g "
		       "WHERE h.p IS DISTINCT FROM w.p");
	ck_assert_msg(v == NULL, "grants differ from role_grants: %s", v);
	v = ts_sql(db, "SELECT string_agg(c.relname || '=' || coalesce(c.relacl::text, ''), ' ' "
		       "ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
		       "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S'");
	ck_assert_msg(v != NULL && strstr(v, "orders_id_seq=") != NULL &&
			      strstr(v, "orders=U/") != NULL && strstr(v, "catalog=U/") != NULL,
		      "sequence grants: %s", v);
	free(v);
	/* apply_role_grants() is idempotent: a second run changes nothing. */
	v = ts_sql(db, "SELECT apply_role_grants()");
	ck_assert_str_eq(v, "0");
	free(v);
	free(db);
}
END_TEST

/* The services as deployed: each with its own role, the whole story works, and PostgreSQL sees
 * exactly those two users. */
START_TEST(test_both_services_work_end_to_end_with_their_own_roles)
{
	char *db = ts_db_create(0);
	struct ts_proc cat = { 0 }, ord = { 0 };
	long long book, id;
	char *v;

	t_start_catalog(&cat, db, 0);
	t_start_order(&ord, db, cat.url, 0);
	book = t_create_book(cat.url, "12.50", 5);
	ck_assert_int_eq(t_order(ord.url, book, 2, NULL, &id), 201);
	ck_assert_int_eq(t_book_qty(db, book), 3);
	ck_assert_int_eq(t_set_status(ord.url, id, "cancelled"), 200);
	ck_assert_int_eq(t_wait_zero(db, T_UNSETTLED_SQL, 10000), 0);
	ck_assert_int_eq(t_book_qty(db, book), 5);
	/* The test's own short connections (as the owner) leave pg_stat_activity a moment after
	 * they close: look again for up to 3 s before judging. */
	for (int i = 0;; i++) {
		v = ts_sql(db, "SELECT string_agg(DISTINCT usename, ',' ORDER BY usename) FROM "
			       "pg_stat_activity WHERE datname = current_database() AND pid <> "
			       "pg_backend_pid()");
		if ((v != NULL && strcmp(v, "catalog_app,orders_app") == 0) || i >= 30)
			break;
		free(v);
		t_sleep_ms(100);
	}
	ck_assert_str_eq(v, "catalog_app,orders_app");
	free(v);
	ts_stop(&ord, SIGTERM, 5000);
	ts_stop(&cat, SIGTERM, 5000);
	free(db);
}
END_TEST

/* scripts/db-setup.sh twice on one database (and again after the migrations): same state, no
 * error, nothing for apply_role_grants() to change. */
START_TEST(test_setup_is_idempotent)
{
	const char *admin = ts_pg_admin_url();
	char name[64], url[300], *owner_url, *v, *before;
	const char *q = "SELECT (SELECT datacl::text FROM pg_database WHERE datname = "
			"current_database()) || ' ' || (SELECT string_agg(rolname, ',' ORDER BY "
			"rolname) FROM pg_roles WHERE rolname ~ '^(bookstore_owner|catalog|orders)')";

	(void)snprintf(name, sizeof name, "t_setup_%d", (int)getpid());
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ts_system("'%s' database '%s' %s >/dev/null", setup_script, admin,
					   name),
				 0);
	(void)snprintf(url, sizeof url, "%.*s/%s", (int)(strrchr(admin, '/') - admin), admin, name);
	owner_url = ts_db_url_as(url, TS_ROLE_OWNER);
	before = ts_sql(owner_url, q);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", owner_url,
				   t_env("CATALOG_BIN")),
			 0);
	ck_assert_int_eq(ts_system("'%s' database '%s' %s >/dev/null", setup_script, admin, name),
			 0);
	v = ts_sql(owner_url, q);
	ck_assert_str_eq(v, before);
	free(v);
	v = ts_sql(owner_url, "SELECT apply_role_grants()");
	ck_assert_str_eq(v, "0");
	free(v);
	/* The printed URLs are the ones the services use. */
	ck_assert_int_eq(ts_system("'%s' urls '%s' %s | grep -qx \"DATABASE_URL_ORDERS=.*orders_app@"
				   ".*/%s\"",
				   setup_script, admin, name, name),
			 0);
	free(before);
	free(owner_url);
	ck_assert_int_eq(ts_system("psql '%s' -qc 'DROP DATABASE %s WITH (FORCE)'", admin, name),
			 0);
}
END_TEST

/* The bundled Kubernetes server creates the same names (k8s/base/postgres.env), and the group
 * names are the ones role_grants grants to. */
START_TEST(test_role_names_match_the_bundled_server_setup)
{
	static const char *const want[] = { "OWNER_ROLE=" TS_ROLE_OWNER, "CATALOG_GROUP=catalog",
					    "CATALOG_LOGIN=" TS_ROLE_CATALOG, "ORDERS_GROUP=orders",
					    "ORDERS_LOGIN=" TS_ROLE_ORDERS };
	char path[600];
	char *db = ts_db_create(0);
	char *v;

	(void)snprintf(path, sizeof path, "%s/../../k8s/base/postgres.env", t_env("MIGRATIONS_DIR"));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(ts_system("grep -qx '%s' '%s'", want[i], path) == 0,
			      "%s lacks the line %s (db/setup/roles.sql uses it)", path, want[i]);
	v = ts_sql(db, "SELECT string_agg(DISTINCT role_name, ',' ORDER BY role_name) FROM "
		       "role_grants");
	ck_assert_str_eq(v, "catalog,orders");
	free(v);
	free(db);
}
END_TEST

/* ------------------------------------------------------------------ bare server */

static void bare_start(void)
{
	FILE *f;
	char path[600];
	size_t n;

	(void)snprintf(bare_dir, sizeof bare_dir, "%s/db-roles-bare-%d", t_env("TEST_TMPDIR"),
		       (int)getpid());
	if (ts_system("rm -rf '%s' && PG_SETUP_ROLES=0 '%s' start '%s' >/dev/null", bare_dir,
		      t_env("PG_SCRIPT"), bare_dir) != 0) {
		fprintf(stderr, "cannot start the bare PostgreSQL under %s\n", bare_dir);
		abort();
	}
	(void)snprintf(path, sizeof path, "%s/url", bare_dir);
	f = fopen(path, "r");
	if (f == NULL || fgets(bare_url, sizeof bare_url, f) == NULL) {
		fprintf(stderr, "no URL in %s\n", path);
		abort();
	}
	fclose(f);
	n = strcspn(bare_url, "\r\n");
	bare_url[n] = '\0';
}

static void bare_stop(void)
{
	(void)ts_system("'%s' stop '%s' >/dev/null 2>&1; rm -rf '%s'", t_env("PG_SCRIPT"),
			bare_dir, bare_dir);
}

/* Back to a server without the roles: drops the databases the tests made, then the roles. */
static void bare_reset(void)
{
	char *v = ts_sql(bare_url, "SELECT string_agg(datname, ' ') FROM pg_database WHERE "
				   "datname NOT IN ('postgres', 'template0', 'template1')");

	if (v != NULL) {
		char *save = NULL;

		for (char *d = strtok_r(v, " ", &save); d != NULL; d = strtok_r(NULL, " ", &save))
			ck_assert_int_eq(ts_system("psql '%s' -qc 'DROP DATABASE %s WITH (FORCE)'",
						   bare_url, d),
					 0);
	}
	free(v);
	free(ts_sql(bare_url, "SET client_min_messages = warning; DROP ROLE IF EXISTS orders_app, "
			      "catalog_app, orders, catalog, bookstore_owner"));
}

static void setup_paths(void)
{
	const char *pg = t_env("PG_SCRIPT");
	const char *slash = strrchr(pg, '/');

	(void)snprintf(setup_script, sizeof setup_script, "%.*s/db-setup.sh",
		       slash != NULL ? (int)(slash - pg) : 1, slash != NULL ? pg : ".");
}

/* Setups racing on a server without the roles: the roles step connected to different databases
 * (advisory locks are per database, so only the duplicate_object/unique_violation handlers
 * protect these) and to the same one (the lock), then whole database setups of one new database.
 * Every run succeeds, and the roles come out exactly once, right. Three rounds. */
START_TEST(test_parallel_setups_of_a_fresh_server_do_not_race)
{
	char other[300];
	char *v;

	for (int round = 0; round < 3; round++) {
		bare_reset();
		free(ts_sql(bare_url, "CREATE DATABASE side_a"));
		(void)snprintf(other, sizeof other, "%.*s/side_a",
			       (int)(strrchr(bare_url, '/') - bare_url), bare_url);
		ck_assert_int_eq(ts_system("set -e; pids=; for i in 1 2 3 4 5 6 7 8; do "
					   "if [ $((i %% 2)) = 0 ]; then u='%s'; else u='%s'; fi; "
					   "'%s' roles \"$u\" & pids=\"$pids $!\"; done; rc=0; "
					   "for p in $pids; do wait $p || rc=1; done; exit $rc",
					   bare_url, other, setup_script),
				 0);
		v = ts_sql(bare_url, "SELECT count(*) FROM pg_roles WHERE rolname IN "
				     "('bookstore_owner', 'catalog', 'orders', 'catalog_app', "
				     "'orders_app')");
		ck_assert_str_eq(v, "5");
		free(v);
		v = ts_sql(bare_url, "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON "
				     "r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE "
				     "r.rolname || '>' || u.rolname IN ('catalog>catalog_app', "
				     "'orders>orders_app')");
		ck_assert_str_eq(v, "2");
		free(v);
		/* Six whole setups of one new database at once. */
		ck_assert_int_eq(ts_system("set -e; pids=; for i in 1 2 3 4 5 6; do '%s' database '%s' "
					   "shared >/dev/null & pids=\"$pids $!\"; done; rc=0; "
					   "for p in $pids; do wait $p || rc=1; done; exit $rc",
					   setup_script, bare_url),
				 0);
		v = ts_sql(bare_url, "SELECT pg_get_userbyid(datdba) || ' ' || datacl::text FROM "
				     "pg_database WHERE datname = 'shared'");
		ck_assert_msg(v != NULL && strncmp(v, "bookstore_owner {", 17) == 0 &&
				      strstr(v, "catalog=c/") != NULL &&
				      strstr(v, "orders=c/") != NULL && strstr(v, "=Tc/") == NULL,
			      "database shared: %s", v);
		free(v);
	}
	bare_reset();
}
END_TEST

/* Development: one DATABASE_URL, a server without the roles. The migrations succeed (the grants
 * are skipped with a NOTICE), the catalog runs as that user; once the roles exist,
 * apply_role_grants() grants what the map says. */
START_TEST(test_single_database_url_without_roles_migrates_and_runs)
{
	char url[300], dburl[320];
	struct ts_proc cat = { 0 };
	struct ts_resp r = { 0 };
	const char *env[] = { dburl, NULL };
	char *v;

	bare_reset();
	free(ts_sql(bare_url, "CREATE DATABASE solo"));
	(void)snprintf(url, sizeof url, "%.*s/solo", (int)(strrchr(bare_url, '/') - bare_url),
		       bare_url);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", url,
				   t_env("CATALOG_BIN")),
			 0);
	v = ts_sql(url, "SELECT count(*) FROM schema_migrations WHERE version = "
			"'0006_roles_grants'");
	ck_assert_str_eq(v, "1");
	free(v);
	v = ts_sql(url, "SELECT count(*) FROM pg_roles WHERE rolname IN ('catalog', 'orders')");
	ck_assert_str_eq(v, "0");
	free(v);
	(void)snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", url);
	ck_assert_int_eq(ts_spawn(&cat, t_env("CATALOG_BIN"), env), 0);
	ck_assert_int_eq(ts_req(&r, "POST", cat.url,
				"{\"title\":\"Solo\",\"author\":\"Dev\",\"price\":\"1.00\","
				"\"quantity\":1}",
				"/books"),
			 0);
	ck_assert_msg(r.status == 201, "POST /books as the single user: %ld %s", r.status, r.body);
	ts_resp_free(&r);
	ts_stop(&cat, SIGTERM, 5000);

	/* Roles created later: one call applies the map. */
	ck_assert_int_eq(ts_system("'%s' roles '%s'", setup_script, bare_url), 0);
	v = ts_sql(url, "SELECT apply_role_grants() > 0 AND has_table_privilege('orders_app', "
			"'orders', 'INSERT') AND NOT has_table_privilege('orders_app', 'books', "
			"'SELECT')");
	ck_assert_str_eq(v, "t");
	free(v);
	bare_reset();
}
END_TEST

static Suite *roles_suite(void)
{
	Suite *s = suite_create("db_roles");
	TCase *tc = tcase_create("fixture_server");
	TCase *bare = tcase_create("bare_server");

	tcase_add_unchecked_fixture(tc, setup_paths, NULL);
	tcase_set_timeout(tc, R_TIMEOUT_S);
	tcase_add_test(tc, test_order_role_is_denied_the_catalogue);
	tcase_add_test(tc, test_catalog_role_is_denied_the_order_tables);
	tcase_add_test(tc, test_service_roles_have_no_ddl_and_no_migration_bookkeeping);
	tcase_add_test(tc, test_migrations_run_as_the_owner_and_no_role_is_a_superuser);
	tcase_add_test(tc, test_every_table_is_granted_exactly_to_its_service_group);
	tcase_add_test(tc, test_both_services_work_end_to_end_with_their_own_roles);
	tcase_add_test(tc, test_setup_is_idempotent);
	tcase_add_test(tc, test_role_names_match_the_bundled_server_setup);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(bare, setup_paths, NULL);
	tcase_add_unchecked_fixture(bare, bare_start, bare_stop);
	tcase_set_timeout(bare, R_TIMEOUT_S);
	tcase_add_test(bare, test_parallel_setups_of_a_fresh_server_do_not_race);
	tcase_add_test(bare, test_single_database_url_without_roles_migrates_and_runs);
	suite_add_tcase(s, bare);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(roles_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
