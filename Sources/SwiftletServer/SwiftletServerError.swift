/// What can go wrong mounting or running Swiftlet's server.
public enum SwiftletServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The router already answers this method and path (`"GET /health"`); mount under a prefix, or leave
    /// that group of routes out.
    case routeClash(String)
    /// The address cannot be listened on.
    case cannotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .routeClash(let route):
            return "the router already answers \(route); mount Swiftlet's routes under a prefix "
                + "(router.group(\"/llm\")) or leave that group out (routes:)"
        case .cannotListen(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
