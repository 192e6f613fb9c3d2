/* order_metrics.c - the order counters (see order_metrics.h). */
#include "order_metrics.h"

#include "common/metrics.h"

#define FAILED_HELP "POST /orders that created no order, by reason."

enum failed_reason { F_INVALID, F_BOOK, F_STOCK, F_CATALOG, F_DATABASE, F_N };

static const char *const failed_labels[F_N] = {
	"reason=\"invalid\"", "reason=\"book_not_found\"", "reason=\"out_of_stock\"",
	"reason=\"catalog_unavailable\"", "reason=\"database\""
};

static struct metrics_series *created, *cancelled, *failed[F_N];

void order_metrics_init(void)
{
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
