/* ops.c - the operational endpoints and the common serve loop (see ops.h). */
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

int ops_serve(const struct cfg_common *c, const struct http_route *routes, size_t nroutes,
	      void *app)
{
	struct http_server_config hc;
	struct http_server *srv;
	int sig;

	http_signals_block();
	memset(&hc, 0, sizeof(hc));
	hc.port = c->port;
	hc.threads = c->http_threads;
	hc.max_body = (size_t)c->max_body_bytes;
	hc.idle_timeout_s = c->idle_timeout_s;
	hc.routes = routes;
	hc.nroutes = nroutes;
	hc.app = app;
	srv = http_server_start(&hc);
	if (srv == NULL)
		return 1;
	sig = http_signals_wait();
	log_msg(LOG_INFO, NULL, "received %s, draining for up to %d ms",
		sig == SIGTERM ? "SIGTERM" : "SIGINT", c->shutdown_timeout_ms);
	http_server_stop(srv, c->shutdown_timeout_ms);
	log_msg(LOG_INFO, NULL, "stopped");
	return 0;
}
