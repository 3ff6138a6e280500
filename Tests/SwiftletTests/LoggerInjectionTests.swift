import Foundation
import Logging
import Swiftlet
import Synchronization
import Testing

/// Warnings go to the logger the host gives in the load options.
@Suite struct LoggerInjectionTests {
    /// A log handler that keeps every message.
    struct Collector: LogHandler {
        let box: Box
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            box.messages.withLock { $0.append((event.level, event.message.description)) }
        }
    }

    final class Box: Sendable {
        let messages = Mutex<[(Logger.Level, String)]>([])
    }

    /// A vocabulary with an unknown pre-tokenizer loads with llama.cpp's default rule and a warning.
    @Test func anInjectedLoggerReceivesTheTokenizersWarning() async throws {
        let path = try TinyModelFiles.variant("martian", ["tokenizer.ggml.pre": .string("martian")])
        let box = Box()
        let logger = Logger(label: "test") { _ in Collector(box: box) }
        _ = try await Swiftlet.Model.load(path, options: .init(logger: logger))
        let warnings = box.messages.withLock { $0 }.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings.contains { $0.contains("unknown pre-tokenizer \"martian\"") }, "\(warnings)")
    }
}
