import Foundation
import Logging
import Synchronization

/// swift-log's lines on standard error, written by a queue of their own: a reader that stops reading the
/// server's standard error (a full pipe) then blocks that queue only, never a request. Lines beyond a
/// backlog of 10,000 are dropped and counted.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    private static let queue = DispatchQueue(label: "swiftlet.log")
    private static let backlog = Mutex((pending: 0, dropped: 0))

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "\(time) \(event.level) \(label): \(event.message)\(fields)\n"
        let dropped: Int? = Self.backlog.withLock { state in
            guard state.pending < 10_000 else {
                state.dropped += 1
                return nil
            }
            state.pending += 1
            defer { state.dropped = 0 }
            return state.dropped
        }
        guard let dropped else { return }
        Self.queue.async {
            let text = dropped > 0 ? "(\(dropped) log lines dropped)\n" + line : line
            FileHandle.standardError.write(Data(text.utf8))
            Self.backlog.withLock { $0.pending -= 1 }
        }
    }
}
