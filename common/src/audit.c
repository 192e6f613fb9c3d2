/* audit.c - GET /audit over audit_log (see audit.h). */
#include "common/audit.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/app.h"
#include "common/jsonx.h"
#include "common/valid.h"

static const struct db_stmt audit_table[] = {
    /* $1 entity, $2 entity_id (NULL = any), $3 actor (NULL = any), $4 skip, $5 limit.
     * One statement, so the total and the page come from one snapshot: a row per item with the
     * total in column 9, or a single row of NULL item columns and the total when the page is
     * empty (skip past the end, or nothing matches). */
    {"audit_list",
     "WITH m AS (SELECT id, at, actor, action, entity, entity_id, changes, request_id, version"
     " FROM audit_log WHERE entity = $1::text"
     " AND ($2::bigint IS NULL OR entity_id = $2::bigint)"
     " AND ($3::text IS NULL OR actor = $3::text)),"
     " t AS (SELECT count(*) AS total FROM m),"
     " p AS (SELECT * FROM m ORDER BY id DESC OFFSET $4::bigint LIMIT $5::bigint)"
     " SELECT p.id, p.at, p.actor, p.action, p.entity, p.entity_id, p.changes::text,"
     " p.request_id, p.version, t.total FROM t LEFT JOIN p ON true ORDER BY p.id DESC"},
};

void audit_stmts(const struct db_stmt **stmts, size_t *n)
{
	*stmts = audit_table;
	*n = sizeof(audit_table) / sizeof(audit_table[0]);
}

/* One row of audit_list as JSON (a new reference). */
static json_t *audit_row_json(const PGresult *r, int i)
{
	long long id = 0, eid = 0, version = 0;
	json_t *changes = json_loads(PQgetvalue(r, i, 6), JSON_DECODE_ANY, NULL);
	json_t *v = db_col_ll(r, i, 8, LLONG_MIN, LLONG_MAX, &version) == 0
			? json_integer((json_int_t)version)
			: json_null();

	(void)db_col_ll(r, i, 0, 0, LLONG_MAX, &id);
	(void)db_col_ll(r, i, 5, LLONG_MIN, LLONG_MAX, &eid);
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "version", v, "id",
			 (json_int_t)id, "at", jsonx_pg_time(PQgetvalue(r, i, 1)), "actor",
			 jsonx_string_or_null(PQgetvalue(r, i, 2)), "action",
			 jsonx_string_or_null(PQgetvalue(r, i, 3)), "entity",
			 jsonx_string_or_null(PQgetvalue(r, i, 4)), "entity_id", (json_int_t)eid,
			 "changes", changes != NULL ? changes : json_object(), "request_id",
			 jsonx_string_or_null(PQgetisnull(r, i, 7) ? NULL : PQgetvalue(r, i, 7)));
}

int audit_http_list(struct http_req *req, struct http_resp *resp)
{
	const struct app *app = req->app;
	const char *own = app->spec != NULL ? app->spec->audit_entity : NULL;
	const char *entity = http_query(req, "entity");
	const char *actor = http_query(req, "actor");
	char eid_text[24], skip_text[24], limit_text[24];
	const char *v[5];
	json_t *errors = json_array(), *items = NULL;
	struct db_conn *conn = NULL;
	PGresult *r = NULL;
	long long eid = 0, skip = 0, limit = AUDIT_LIMIT_DEFAULT, total = 0;
	enum db_status st;
	int status;

	if (errors == NULL)
		abort();
	if (own == NULL)
		own = "";
	if (entity != NULL && strcmp(entity, own) != 0)
		valid_error(errors, "literal_error", "query", "entity",
			    "Input should be the "
			    "entity this service owns",
			    NULL);
	(void)valid_query_ll(http_query(req, "entity_id"), "entity_id", 0, 1, LLONG_MAX, &eid,
			     errors);
	/* 1..255 characters, as the OpenAPI documents state (UTF-8 was checked by the server). */
	if (actor != NULL && (actor[0] == '\0' || valid_utf8_chars(actor, strlen(actor)) > 255))
		valid_error(errors, actor[0] == '\0' ? "string_too_short" : "string_too_long",
			    "query", "actor", "actor must be 1 to 255 characters", NULL);
	(void)valid_query_ll(http_query(req, "skip"), "skip", 0, 0, LLONG_MAX, &skip, errors);
	(void)valid_query_ll(http_query(req, "limit"), "limit", AUDIT_LIMIT_DEFAULT, 1,
			     AUDIT_LIMIT_MAX, &limit, errors);
	if (json_array_size(errors) > 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	snprintf(eid_text, sizeof(eid_text), "%lld", eid);
	snprintf(skip_text, sizeof(skip_text), "%lld", skip);
	snprintf(limit_text, sizeof(limit_text), "%lld", limit);
	v[0] = own;
	v[1] = eid > 0 ? eid_text : NULL;
	v[2] = actor;
	v[3] = skip_text;
	v[4] = limit_text;
	st = db_acquire(app_pool(req), &conn);
	if (st == DB_OK)
		st = db_run(conn, "audit_list", 5, v, &r);
	if (st != DB_OK) {
		status = app_db_failure(req, resp, st);
		goto out;
	}
	items = json_array();
	if (items == NULL)
		abort();
	for (int i = 0; i < PQntuples(r); i++) {
		if (i == 0)
			(void)db_col_ll(r, 0, 9, 0, LLONG_MAX, &total);
		if (!PQgetisnull(r, i, 0)) /* the empty page's one row has no item */
			(void)json_array_append_new(items, audit_row_json(r, i));
	}
	status = http_json(resp, 200,
			   json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items));
out:
	PQclear(r);
	db_release(app_pool(req), conn);
	json_decref(errors);
	return status;
}
