import Hummingbird
import NIOCore

/// A request context that knows the connection its request came on. ``SwiftletEndpoints`` watches that
/// connection: a generation stops within one token of its client leaving, streamed or not.
public protocol ConnectionRequestContext: RequestContext {
    /// The request's connection, if known.
    var connection: (any Channel)? { get }
}

/// Hummingbird's basic request context plus the request's connection: the context
/// ``SwiftletHTTPServer`` uses, and the one to give your own `Router` when you mount Swiftlet's routes:
///
/// ```swift
/// let router = Router(context: SwiftletRequestContext.self)
/// ```
public struct SwiftletRequestContext: ConnectionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let connection: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = source.channel
    }
}
