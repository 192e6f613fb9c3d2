/* reservation_metrics.c - reservations_total{result} (see reservation_metrics.h). */
#include "reservation_metrics.h"

#include "common/metrics.h"

#define RESERVATIONS_HELP "Stock reservations in the catalog by result (taken, released, refused)."

static struct metrics_series *taken, *released, *refused;

void reservation_metrics_init(void)
{
	taken = metrics_counter("reservations_total", RESERVATIONS_HELP, "result=\"taken\"");
	released = metrics_counter("reservations_total", RESERVATIONS_HELP, "result=\"released\"");
	refused = metrics_counter("reservations_total", RESERVATIONS_HELP, "result=\"refused\"");
}

/* metrics_inc ignores NULL: a unit test that never called init counts nothing. */
void reservation_metrics_taken(void)
{
	metrics_inc(taken, 1);
}

void reservation_metrics_released(void)
{
	metrics_inc(released, 1);
}

void reservation_metrics_refused(void)
{
	metrics_inc(refused, 1);
}
