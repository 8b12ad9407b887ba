// Prometheus metrics: requests and latency by route and status, exit layers per model, queue
// depth. One registry per app, so that several apps (tests) do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "status">;
  readonly latency: Histogram<"route" | "status">;
  readonly exitLayer: Histogram<"model">;
  readonly queueDepth: Gauge<"queue">;
  readonly classifyBatchSize: Histogram;
  readonly captionBatchSize: Histogram;
}

export function createMetrics(options: {
  /** Deepest exit layer a bucket is kept for. */
  maxLayers: number;
  queues: Record<string, () => number>;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "beem_process_" });
  const layers = Array.from({ length: options.maxLayers }, (_, i) => i + 1);
  return {
    registry,
    requests: new Counter({
      name: "beem_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["route", "status"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "beem_http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    exitLayer: new Histogram({
      name: "beem_exit_layer",
      help: "Exit layer of each classified text or generated caption token, by model",
      labelNames: ["model"],
      buckets: layers,
      registers: [registry],
    }),
    classifyBatchSize: new Histogram({
      name: "beem_classify_batch_size",
      help: "Texts per classification batch (concurrent requests merged)",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    captionBatchSize: new Histogram({
      name: "beem_caption_batch_size",
      help: "Images per captioning batch (concurrent requests merged)",
      buckets: [1, 2, 4, 8, 16],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "beem_queue_depth",
      help: "Jobs running or waiting, by queue",
      labelNames: ["queue"],
      registers: [registry],
      collect() {
        for (const [queue, depth] of Object.entries(options.queues)) this.set({ queue }, depth());
      },
    }),
  };
}
