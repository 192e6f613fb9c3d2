/* audit.h - the audit trail of user writes (issue 8; table audit_log,
 * db/migrations/0005_authz.sql).
 *
 * Rows are written by a trigger fired by the write itself, so a change and its audit row commit
 * together or not at all. A write statement names its actor by joining AUDIT_CTE:
 *
 *   "WITH " AUDIT_CTE("7", "8") " INSERT INTO books (...) SELECT ... FROM au RETURNING ..."
 *
 * with $7 the caller's sub and $8 the request id. Statements that do not join it (reservations
 * taking stock, the recovery pass) are not user actions and leave no row. Tokens are never
 * stored. Each service reads only its own entities (app_spec.audit_entity: "book" for the
 * catalog, "order" for the order service) at GET /audit, an admin-only route. */
#ifndef COMMON_AUDIT_H
#define COMMON_AUDIT_H

#include <stddef.h>

#include "common/db.h"
#include "common/http.h"

/* The CTE "au" that names the actor ($a) and request id ($r) for the audit trigger. */
#define AUDIT_CTE(a, r)                                                                            \
	"au AS (SELECT set_config('bookstore.actor', $" a "::text, true) AS au_actor, "            \
	"set_config('bookstore.request_id', $" r "::text, true) AS au_request)"

#define AUDIT_LIMIT_DEFAULT 50
#define AUDIT_LIMIT_MAX 500

/* The statements of audit_http_list (register them in app_spec.stmts). */
void audit_stmts(const struct db_stmt **stmts, size_t *n);

/* GET /audit?entity=&entity_id=&actor=&limit=&skip= (admin only, newest first):
 * 200 {"total": n, "items": [{"version","id","at","actor","action","entity","entity_id",
 * "changes","request_id"}]} (version null when the entity has no version column), changes being
 * {"field": {"before": x, "after": y}}. entity, when given, must be the service's own (else 422);
 * entity_id >= 1; actor 1..255 bytes; limit 1..500 (default 50); skip >= 0. Database failures
 * answer through app_db_failure. */
int audit_http_list(struct http_req *req, struct http_resp *resp);

#endif
