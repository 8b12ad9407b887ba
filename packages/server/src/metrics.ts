// Prometheus metrics: requests and latency by route and status, exit layers per model, queue
// depth. One registry per app, so that several apps (tests) do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "status">;
  readonly latency: Histogram<"route" | "status">;
  readonly queueDepth: Gauge<"queue">;
  readonly classifyBatchSize: Histogram;
  readonly captionBatchSize: Histogram;
  /**
   * Sets the exit-layer histogram's buckets to 1..`deepest` (the loaded models' deepest exit);
   * called once the models are loaded. Until then exit layers are not recorded.
   */
  useExitLayers(deepest: number): void;
  /** Records one exit layer (a classified text, or a caption token, end token included). */
  observeExit(model: string, layer: number): void;
}

export function createMetrics(options: { queues: Record<string, () => number> }): Metrics {
  const registry = new Registry();
  // The default metrics' names already start with process_ or nodejs_.
  collectDefaultMetrics({ register: registry, prefix: "beem_" });
  let exitLayer: Histogram<"model"> | undefined;
  return {
    registry,
    requests: new Counter({
      name: "beem_http_requests_total",
      help: "HTTP requests by route (the mounted path; page files as 'page') and status",
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
    useExitLayers(deepest) {
      if (exitLayer !== undefined) registry.removeSingleMetric("beem_exit_layer");
      exitLayer = new Histogram({
        name: "beem_exit_layer",
        help: "Exit layer of each classified text or generated caption token (end token included), by model",
        labelNames: ["model"],
        buckets: Array.from({ length: deepest }, (_, i) => i + 1),
        registers: [registry],
      });
    },
    observeExit(model, layer) {
      exitLayer?.observe({ model }, layer);
    },
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
