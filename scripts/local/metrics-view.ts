/**
 * The local metrics view (docs/CONTRACT.md "Metrics"): what CloudWatch shows in AWS, on
 * one machine. Its parts: the view's state and series (metrics-view/view.ts), the exposition
 * renderer (exposition.ts), the client snapshots' validator and merge (client-snapshots.ts),
 * and the HTTP server, routes and proxy (server.ts).
 */
export { mergeClientSnapshots, parseClientSnapshot } from './metrics-view/client-snapshots.ts';
export { seriesKey } from './metrics-view/exposition.ts';
export {
  handleMetricsViewRequest,
  METRICS_VIEW_PATHS,
  metricsViewProxy,
  type RunningMetricsView,
  startMetricsView,
} from './metrics-view/server.ts';
export { type HistoryPoint, MetricsView, type MetricsViewOptions } from './metrics-view/view.ts';
