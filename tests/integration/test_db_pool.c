/* test_db_pool.c - common/db.c's pool against the real test PostgreSQL: the bounds that must hold
 * when the server stops answering. Only one backend of the shared test server is frozen
 * (SIGSTOP on its pid), so the other suites running in parallel are not disturbed. */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/db.h"
#include "ts.h"

#define STATEMENT_TIMEOUT_MS 300
#define ANSWER_BOUND_MS (STATEMENT_TIMEOUT_MS + 100) /* db.c: statement timeout + margin */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A backend frozen while its session is inside a failed transaction: returning the connection
 * (whose ROLLBACK gets no answer) must take no longer than one statement's bound, and the slot
 * must work again afterwards. */
START_TEST(test_release_of_a_frozen_transaction_is_bounded)
{
	struct db_pool_config pc = { 0 };
	struct db_pool *pool;
	struct db_conn *conn = NULL;
	PGresult *r = NULL;
	pid_t backend, guard;
	long long t0, took;

	pc.conninfo = ts_pg_admin_url();
	pc.app_name = "test_db_pool";
	pc.size = 1;
	pc.statement_timeout_ms = STATEMENT_TIMEOUT_MS;
	pc.wait_ms = 2000;
	pool = db_pool_create(&pc);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(db_acquire(pool, &conn), DB_OK);
	ck_assert_int_eq(db_run_sql(conn, "SELECT pg_backend_pid()", &r), DB_OK);
	backend = (pid_t)atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	r = NULL;
	ck_assert_int_gt(backend, 0);
	ck_assert_int_eq(db_run_sql(conn, "BEGIN", &r), DB_OK);
	PQclear(r);
	r = NULL;
	ck_assert_int_ne(db_run_sql(conn, "SELECT 1/0", &r), DB_OK); /* the transaction failed */

	/* Whatever happens to this test, the backend is resumed within 5 s. */
	guard = fork();
	ck_assert_int_ge(guard, 0);
	if (guard == 0) {
		sleep(5);
		kill(backend, SIGCONT);
		_exit(0);
	}
	ck_assert_int_eq(kill(backend, SIGSTOP), 0);
	t0 = mono_ms();
	db_release(pool, conn);
	took = mono_ms() - t0;
	kill(backend, SIGCONT);
	kill(guard, SIGKILL);
	waitpid(guard, NULL, 0);
	ck_assert_msg(took < 2 * ANSWER_BOUND_MS + 250, "db_release took %lld ms", took);

	/* The slot was given up and reconnects: the next checkout works. */
	conn = NULL;
	ck_assert_int_eq(db_acquire(pool, &conn), DB_OK);
	ck_assert_int_eq(db_run_sql(conn, "SELECT 1", &r), DB_OK);
	PQclear(r);
	db_release(pool, conn);
	db_pool_destroy(pool);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("db_pool");
	TCase *tc = tcase_create("bounds");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_release_of_a_frozen_transaction_is_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
