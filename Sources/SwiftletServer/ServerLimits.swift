/// How long a connection may take over each part of a request, how many connections may be open, and how
/// long shutdown waits for running requests.
///
/// The defaults are what `swiftlet serve` uses; each is a flag there (`--header-timeout`, `--body-timeout`,
/// `--idle-timeout`, `--max-connections`, `--drain-timeout`). They follow common HTTP servers' choices
/// (nginx's `client_header_timeout` / `client_body_timeout` / `keepalive_timeout`, Node's `headersTimeout`):
/// short enough that a client holding a connection open without finishing its request is cut off, long
/// enough for any real client. Generating a reply has no time limit: it ends at `max_tokens`, at the end of
/// the context, or when its client leaves.
public struct ServerLimits: Sendable, Equatable {
    /// Time from a request's first byte to the end of its header; past it the client gets 408 and the
    /// connection is closed.
    public var headerTimeout: Duration
    /// Time from the end of a request's header to the end of its body; past it the connection is closed.
    public var bodyTimeout: Duration
    /// Time a connection may stay open with no request in progress (a new connection included).
    public var idleTimeout: Duration
    /// Connections open at once; one more is answered 503 and closed.
    public var maxConnections: Int
    /// Time shutdown waits for running requests after SIGTERM or SIGINT; then open streams get a final
    /// error event and the process exits 0.
    public var drainTimeout: Duration

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30),
                idleTimeout: Duration = .seconds(30), maxConnections: Int = 256,
                drainTimeout: Duration = .seconds(10)) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
    }
}
