/* ops.c - the operational endpoints (see ops.h). */
#include "common/ops.h"

#include "common/log.h"
#include "common/metrics.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct ops_info ops_info;

void ops_init(const struct ops_info *info)
{
	ops_info = *info;
}

int ops_root(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	return http_json(resp, 200,
			 json_pack("{s:s, s:s}", "service",
				   ops_info.service != NULL ? ops_info.service : "",
				   "version", ops_info.version != NULL ? ops_info.version : OPS_VERSION));
}

int ops_health(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	return http_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

int ops_ready(struct http_req *req, struct http_resp *resp)
{
	char reason[256] = "not ready";

	(void)req;
	if (ops_info.ready != NULL && ops_info.ready(reason, sizeof(reason)) != 0) {
		reason[sizeof(reason) - 1] = '\0';
		return http_error(resp, 503, "%s", reason);
	}
	return http_json(resp, 200, json_pack("{s:s}", "status", "ready"));
}

int ops_metrics(struct http_req *req, struct http_resp *resp)
{
	struct buf b = { 0 };

	(void)req;
	metrics_render(&b);
	if (ops_info.metrics_extra != NULL)
		ops_info.metrics_extra(&b);
	resp->text = buf_steal(&b);
	resp->content_type = "text/plain; version=0.0.4";
	return 200;
}

int ops_openapi(struct http_req *req, struct http_resp *resp)
{
	struct buf b = { 0 };

	(void)req;
	if (ops_info.openapi_json == NULL)
		return http_error(resp, 404, "Not Found");
	buf_puts(&b, ops_info.openapi_json);
	resp->text = buf_steal(&b);
	resp->content_type = "application/json";
	return 200;
}

int ops_openapi_internal(struct http_req *req, struct http_resp *resp)
{
	struct buf b = { 0 };

	(void)req;
	if (ops_info.openapi_internal_json == NULL)
		return http_error(resp, 404, "Not Found");
	buf_puts(&b, ops_info.openapi_internal_json);
	resp->text = buf_steal(&b);
	resp->content_type = "application/json";
	return 200;
}
