import Metrics
import Prometheus
import Swiftlet
import Synchronization

/// The server's and the engine's metrics, kept through swift-metrics in a Prometheus registry that
/// `/metrics` renders.
///
/// The metrics go to the registry given (not the process-wide `MetricsSystem`), so a host application
/// that serves its own metrics can pass its registry and have one `/metrics` for both. The engine keeps
/// running totals of its own; each scrape adds what they grew by since the last one.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let reported = Mutex<[String: Int]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["swiftlet_time_to_first_token_seconds"] =
            [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map { Duration.milliseconds(Int64($0 * 1000)) }
        self.factory = factory
    }

    /// One HTTP request answered.
    func answered(route: String, status: Int) {
        Counter(label: "swiftlet_http_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory).increment()
    }

    /// One generation ended.
    func finished(_ summary: GenerationSummary) {
        Metrics.Timer(label: "swiftlet_time_to_first_token_seconds", factory: factory)
            .recordNanoseconds(Int64(summary.timeToFirstToken * 1e9))
    }

    /// The Prometheus text exposition, with each model's engine figures brought up to date (label `model`)
    /// and the number of models loaded.
    func render(models: [(name: String, metrics: EngineMetrics)], loaded: Int) -> [UInt8] {
        for (name, now) in models {
            let dimensions = [("model", name)]
            func total(_ label: String, _ value: Int) {
                let key = label + "\u{0}" + name
                let before = reported.withLock { last in
                    defer { last[key] = max(value, last[key] ?? 0) }
                    return last[key] ?? 0
                }
                let counter = Counter(label: label, dimensions: dimensions, factory: factory)
                if value > before { counter.increment(by: value - before) }
            }
            total("swiftlet_generations_total", now.requests)
            total("swiftlet_prompt_tokens_total", now.promptTokens)
            total("swiftlet_cached_prompt_tokens_total", now.cachedPromptTokens)
            total("swiftlet_completion_tokens_total", now.completionTokens)
            total("swiftlet_finished_generations_total", now.finishedRequests)
            Gauge(label: "swiftlet_queue_depth", dimensions: dimensions, factory: factory).record(now.queueDepth)
            Gauge(label: "swiftlet_active_sequences", dimensions: dimensions, factory: factory)
                .record(now.activeSequences)
            Gauge(label: "swiftlet_tokens_per_second", dimensions: dimensions, factory: factory)
                .record(now.tokensPerSecond)
            Gauge(label: "swiftlet_kv_cache_bytes", dimensions: dimensions, factory: factory).record(now.kvCacheBytes)
            Gauge(label: "swiftlet_prompt_cache_bytes", dimensions: dimensions, factory: factory)
                .record(now.promptCacheBytes)
            Gauge(label: "swiftlet_prompt_cache_entries", dimensions: dimensions, factory: factory)
                .record(now.promptCacheEntries)
            total("swiftlet_suspended_generations_total", now.suspendedRequests)
            total("swiftlet_decode_steps_total", now.decodeSteps)
            total("swiftlet_decode_rows_total", now.decodeRows)
        }
        Gauge(label: "swiftlet_models_loaded", factory: factory).record(loaded)
        return registry.emitToBuffer()
    }
}
