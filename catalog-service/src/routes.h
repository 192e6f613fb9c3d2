/* routes.h - the catalog's route table. */
#ifndef CATALOG_ROUTES_H
#define CATALOG_ROUTES_H

#include <stddef.h>

#include "common/http.h"

extern const struct http_route catalog_routes[];
extern const size_t catalog_nroutes;

#endif
