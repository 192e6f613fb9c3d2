/* reservation_metrics.h - reservations_total{result}: stock reservations taken (a new
 * reservation took stock), released (a reserved row gave its stock back, once) and refused (not
 * enough stock, or no such book). Lock-free counters registered at start-up. */
#ifndef RESERVATION_METRICS_H
#define RESERVATION_METRICS_H

/* Registers the three series (they read 0 until the first event). Call before serving. */
void reservation_metrics_init(void);
void reservation_metrics_taken(void);
void reservation_metrics_released(void);
void reservation_metrics_refused(void);

#endif
