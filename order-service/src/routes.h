/* routes.h - the order service's route table. */
#ifndef ORDER_ROUTES_H
#define ORDER_ROUTES_H

#include <stddef.h>

#include "common/http.h"

extern const struct http_route order_routes[];
extern const size_t order_nroutes;

#endif
