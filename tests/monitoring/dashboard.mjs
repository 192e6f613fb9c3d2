// dashboard.mjs - THE source of the Grafana dashboard "Bookstore" (k8s/components/monitoring/
// grafana-dashboard.yaml is generated from it by generate.mjs; run.sh checks it is up to date and
// that every PromQL expression in it parses and names only documented metrics).
// Edit here, run `node tests/monitoring/generate.mjs`, commit both. (A dashboard changed in the
// Grafana UI can be exported and its expressions brought back here.)
//
// Variables: $datasource (Prometheus), $job (one or both services). Series identity as in the
// alerts: service = `job`, replica = `pod`.

const J = 'job=~"$job"';
const API = `${J},route!~"/health|/ready|/metrics"`;
const R = '[$__rate_interval]';

// Panel helpers: [title, unit, [[expr, legend], ...], opts]
const ts = (title, unit, targets, opts = {}) => ({ kind: 'timeseries', title, unit, targets, ...opts });
const stat = (title, unit, targets, opts = {}) => ({ kind: 'stat', title, unit, targets, ...opts });

export const rows = [
  {
    title: 'Overview (RED per service)',
    panels: [
      ts('Requests / s', 'reqps', [[`sum by (job) (rate(http_requests_total{${API}}${R}))`, '{{job}}']]),
      ts('5xx ratio', 'percentunit', [[
        `sum by (job) (rate(http_requests_total{${API},status=~"5.."}${R})) / sum by (job) (rate(http_requests_total{${API}}${R}))`,
        '{{job}}']]),
      ts('Latency p50 / p99', 's', [
        [`histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket{${API}}${R})))`, 'p50 {{job}}'],
        [`histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket{${API}}${R})))`, 'p99 {{job}}'],
      ]),
      stat('Replicas up', 'none', [[`sum by (job) (up{${J}})`, '{{job}}']]),
      ts('In flight', 'none', [[`sum by (job) (http_requests_in_flight{${J}})`, '{{job}}']]),
      stat('Versions', 'none', [[`count by (job, version, commit) (bookstore_build_info{${J}})`, '{{job}} {{version}} {{commit}}']]),
    ],
  },
  {
    title: 'Per route',
    panels: [
      ts('Requests / s by route', 'reqps', [[`sum by (job, route, method) (rate(http_requests_total{${J}}${R}))`, '{{job}} {{method}} {{route}}']], { w: 12 }),
      ts('Errors / s by route and status', 'reqps', [[`sum by (job, route, status) (rate(http_requests_total{${J},status=~"[45].."}${R}))`, '{{job}} {{route}} {{status}}']], { w: 12 }),
      ts('p99 latency by route', 's', [[`histogram_quantile(0.99, sum by (job, route, le) (rate(http_request_duration_seconds_bucket{${J}}${R})))`, '{{job}} {{route}}']], { w: 12 }),
      ts('p95 response size by route', 'bytes', [[`histogram_quantile(0.95, sum by (job, route, le) (rate(http_response_size_bytes_bucket{${J}}${R})))`, '{{job}} {{route}}']], { w: 6 }),
      ts('p95 request size by route', 'bytes', [[`histogram_quantile(0.95, sum by (job, route, le) (rate(http_request_size_bytes_bucket{${J}}${R})))`, '{{job}} {{route}}']], { w: 6 }),
    ],
  },
  {
    title: 'Orders, reservations and the catalog client',
    panels: [
      ts('Orders / s', 'ops', [
        ['sum (rate(orders_created_total{job="order-service"}' + R + '))', 'created'],
        ['sum (rate(orders_cancelled_total{job="order-service"}' + R + '))', 'cancelled'],
        ['sum by (reason) (rate(orders_failed_total{job="order-service"}' + R + '))', 'failed: {{reason}}'],
      ]),
      ts('Reservations / s', 'ops', [['sum by (result) (rate(reservations_total{job="catalog-service"}' + R + '))', '{{result}}']]),
      ts('Catalog calls / s by outcome', 'ops', [['sum by (outcome) (rate(catalog_client_calls_total{job="order-service"}' + R + '))', '{{outcome}}']]),
      ts('Catalog call latency p50 / p99', 's', [
        ['histogram_quantile(0.5, sum by (le) (rate(catalog_client_duration_seconds_bucket{job="order-service"}' + R + ')))', 'p50'],
        ['histogram_quantile(0.99, sum by (le) (rate(catalog_client_duration_seconds_bucket{job="order-service"}' + R + ')))', 'p99'],
      ]),
      ts('Breaker state (0 closed, 1 half-open, 2 open)', 'none', [['max by (pod) (catalog_breaker_state{job="order-service"})', '{{pod}}']]),
      ts('Bulkhead rejections / s', 'ops', [['sum by (pod) (rate(catalog_bulkhead_rejections_total{job="order-service"}' + R + '))', '{{pod}}']]),
    ],
  },
  {
    title: 'Recovery (saga)',
    panels: [
      ts('Backlog', 'none', [['max (recovery_backlog{job="order-service"})', 'backlog']]),
      ts('Oldest item age', 's', [['max (recovery_oldest_item_age_seconds{job="order-service"})', 'oldest']]),
      stat('Parked items', 'none', [['max (recovery_parked_items{job="order-service"})', 'parked']]),
      ts('Passes / min', 'none', [['sum by (pod) (rate(recovery_passes_total{job="order-service"}' + R + ')) * 60', '{{pod}}']]),
      ts('Outcomes / s', 'ops', [['sum by (outcome) (rate(recovery_outcomes_total{job="order-service"}' + R + '))', '{{outcome}}']], { w: 8 }),
    ],
  },
  {
    title: 'Database pool',
    panels: [
      ts('Connections in use / size', 'none', [
        [`sum by (pod) (db_pool_in_use{${J}})`, 'in use {{pod}}'],
        [`sum by (pod) (db_pool_size{${J}})`, 'size {{pod}}'],
      ]),
      ts('Waiters', 'none', [[`sum by (pod) (db_pool_waiters{${J}})`, '{{pod}}']]),
      ts('Wait for a connection p99', 's', [[`histogram_quantile(0.99, sum by (job, le) (rate(db_pool_wait_seconds_bucket{${J}}${R})))`, '{{job}}']]),
      ts('Connect failures / s', 'ops', [[`sum by (pod) (rate(db_pool_connect_failures_total{${J}}${R}))`, '{{pod}}']]),
      ts('Statement errors / s by SQLSTATE class', 'ops', [[`sum by (job, sqlstate_class) (rate(db_statement_errors_total{${J}}${R}))`, '{{job}} {{sqlstate_class}}']], { w: 8 }),
    ],
  },
  {
    title: 'Process',
    panels: [
      ts('CPU (cores)', 'none', [[`sum by (pod) (rate(process_cpu_seconds_total{${J}}${R}))`, '{{pod}}']]),
      ts('Resident memory', 'bytes', [[`sum by (pod) (process_resident_memory_bytes{${J}})`, '{{pod}}']]),
      ts('Virtual memory', 'bytes', [[`sum by (pod) (process_virtual_memory_bytes{${J}})`, '{{pod}}']]),
      ts('Open fds / max', 'percentunit', [[`max by (pod) (process_open_fds{${J}} / process_max_fds{${J}})`, '{{pod}}']]),
      ts('Uptime', 's', [[`time() - max by (pod) (process_start_time_seconds{${J}})`, '{{pod}}']]),
    ],
  },
];

export const variables = [
  { name: 'datasource', type: 'datasource', query: 'prometheus' },
  { name: 'job', type: 'query', query: 'label_values(bookstore_build_info, job)', multi: true, includeAll: true },
];

// Build the Grafana dashboard JSON (schemaVersion 39) from rows/variables.
export function build() {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const panels = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.w ?? 8;
      const h = 8;
      if (x + w > 24) { x = 0; y += h; }
      panels.push({
        id: id++,
        type: p.kind,
        title: p.title,
        datasource: ds,
        gridPos: { h, w, x, y },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: p.kind === 'stat'
          ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, textMode: 'value_and_name' }
          : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
        targets: p.targets.map(([expr, legendFormat], i) => ({
          datasource: ds, expr, legendFormat, range: true, refId: String.fromCharCode(65 + i),
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: 'bookstore',
    title: 'Bookstore',
    description: 'RED per service and route, orders/reservations/catalog client, recovery, database pool, process. Source: tests/monitoring/dashboard.mjs.',
    tags: ['bookstore'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'utc',
    annotations: { list: [] },
    links: [],
    templating: {
      list: variables.map((v) => v.type === 'datasource'
        ? { name: v.name, label: 'Data source', type: 'datasource', query: v.query, current: {}, hide: 0, refresh: 1, regex: '', options: [] }
        : {
          name: v.name, label: 'Service', type: 'query', datasource: ds,
          definition: v.query, query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
          multi: v.multi, includeAll: v.includeAll, allValue: '.+', current: {}, hide: 0, refresh: 2, regex: '', sort: 1, options: [],
        }),
    },
    panels,
  };
}
