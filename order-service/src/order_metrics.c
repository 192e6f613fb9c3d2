/* order_metrics.c - the order counters (see order_metrics.h). */
#include "order_metrics.h"

#include "common/metrics.h"

#include <stdio.h>

#define FAILED_HELP "POST /orders that created no order, by reason."

enum failed_reason { F_INVALID, F_BOOK, F_STOCK, F_CATALOG, F_DATABASE, F_N };

static const char *const failed_labels[F_N] = {
	"reason=\"invalid\"", "reason=\"book_not_found\"", "reason=\"out_of_stock\"",
	"reason=\"catalog_unavailable\"", "reason=\"database\""
};

static struct metrics_series *created, *cancelled, *failed[F_N];

/* The catalog-client and recovery series (catalog_client.c, order_saga.c and recovery.c count
 * them by name), registered here so every documented series is in the first scrape (a counter
 * at 0, each outcome label present) before its first event. The help texts are theirs. */
static void register_fault_series(void)
{
	static const char *const calls[] = { "ok",	     "client_error", "server_error",
					     "timeout",	     "connect_error", "breaker_open",
					     "bulkhead_full" };
	static const char *const outcomes[] = { "settled", "retried", "parked", "error" };
	char labels[64];

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		(void)snprintf(labels, sizeof labels, "outcome=\"%s\"", calls[i]);
		(void)metrics_counter("catalog_client_calls_total",
				      "Catalog call attempts by outcome (docs/operations.md): ok, "
				      "client_error (4xx), server_error (5xx or an unparseable "
				      "answer), timeout, connect_error, breaker_open and "
				      "bulkhead_full (refused here, nothing sent)",
				      labels);
	}
	(void)metrics_histogram("catalog_client_duration_seconds",
				"Duration of catalog call attempts that were sent", "",
				METRICS_BUCKETS_SECONDS);
	(void)metrics_counter("catalog_bulkhead_rejections_total",
			      "Requests refused (503) because CATALOG_MAX_INFLIGHT catalog calls were "
			      "already in flight",
			      "");
	(void)metrics_counter("recovery_passes_total", "Recovery passes run by this process", "");
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		(void)snprintf(labels, sizeof labels, "outcome=\"%s\"", outcomes[i]);
		(void)metrics_counter("recovery_outcomes_total",
				      "Recovery items by outcome: settled, retried (transient failure, "
				      "backoff), parked (permanent failure), error (database error "
				      "during the pass)",
				      labels);
	}
}

void order_metrics_init(void)
{
	register_fault_series();
	created = metrics_counter("orders_created_total", "Orders created (POST /orders answered "
							  "201 with a new order).",
				  "");
	cancelled = metrics_counter("orders_cancelled_total", "Orders moved to cancelled.", "");
	for (int i = 0; i < F_N; i++)
		failed[i] = metrics_counter("orders_failed_total", FAILED_HELP, failed_labels[i]);
}

void order_metrics_invalid(void)
{
	metrics_inc(failed[F_INVALID], 1);
}

void order_metrics_place(enum saga_outcome oc)
{
	switch (oc) {
	case SAGA_CREATED:
		metrics_inc(created, 1);
		break;
	case SAGA_IDEMPOTENCY_CONFLICT:
		metrics_inc(failed[F_INVALID], 1);
		break;
	case SAGA_BOOK_MISSING:
		metrics_inc(failed[F_BOOK], 1);
		break;
	case SAGA_INSUFFICIENT_STOCK:
		metrics_inc(failed[F_STOCK], 1);
		break;
	case SAGA_CATALOG_UNAVAILABLE:
	case SAGA_RECOVERY_OWNS: /* the intent outlived a slow catalog call */
		metrics_inc(failed[F_CATALOG], 1);
		break;
	case SAGA_DB_UNAVAILABLE:
	case SAGA_DB_CONFLICT:
	case SAGA_DB_ERROR:
		metrics_inc(failed[F_DATABASE], 1);
		break;
	default: /* replayed, in progress, no random bytes: no order was at stake */
		break;
	}
}

void order_metrics_cancelled(void)
{
	metrics_inc(cancelled, 1);
}
