/* order_metrics.h - the order saga's outcomes as Prometheus counters: orders_created_total
 * (POST /orders made a new order), orders_cancelled_total (an order moved to cancelled; a
 * repeated cancel does not count) and orders_failed_total{reason} (POST /orders that created no
 * order). Lock-free counters registered at start-up. */
#ifndef ORDER_METRICS_H
#define ORDER_METRICS_H

#include "order_saga.h"

/* Registers every series (all read 0 until the first event), also those of the catalog client
 * and of recovery, so the first scrape shows the whole documented set. Call before serving. */
void order_metrics_init(void);
/* A POST /orders refused before the saga ran: bad body or headers (reason "invalid"). */
void order_metrics_invalid(void);
/* The saga's answer to a POST /orders: created, or failed by reason (invalid, book_not_found,
 * out_of_stock, catalog_unavailable, database); replays and in-progress answers count nothing. */
void order_metrics_place(enum saga_outcome oc);
/* An order moved to cancelled. */
void order_metrics_cancelled(void);

#endif
