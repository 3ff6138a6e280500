import NIOCore
import NIOHTTP1
import Synchronization

/// Connections open in one server, bounded by ``ServerLimits/maxConnections``.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)

    /// Takes a place if one is free.
    func enter(limit: Int) -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { open.subtract(1, ordering: .relaxed) }
}

/// The first handler of a connection, on its raw bytes: it admits the connection under the connection
/// limit, keeps the deadline of whichever part of a request is being waited for (header, body, the next
/// request), and closes the connection when its client has gone.
///
/// A client that closes its side of the connection (end of input) is taken as gone, as llama-server does:
/// the connection closes, which stops its generation (`SwiftletEndpoints` watches the close). HTTP
/// clients wait for the response with their side open.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case idle, header, body, responding }

    private let limits: ServerLimits
    private let count: ConnectionCount
    private var context: ChannelHandlerContext?
    private var admitted = false
    private var refused = false
    private var phase = Phase.idle
    private var requestRead = false
    private var responseWritten = false
    private var deadline: Scheduled<Void>?

    init(limits: ServerLimits, count: ConnectionCount) {
        self.limits = limits
        self.count = count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { admit(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if admitted {
            admitted = false
            count.leave()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused connection's request is read and dropped, so that the client reads the 503 instead of
        // a reset.
        guard !refused else { return }
        if phase == .idle {
            phase = .header
            arm(limits.headerTimeout)
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: What the HTTP layer reports (RequestTracker)

    /// A request's header has been read: its body is now awaited.
    func headerRead() {
        phase = .body
        requestRead = false
        responseWritten = false
        arm(limits.bodyTimeout)
    }

    /// A request has been read to its end.
    func bodyRead() {
        requestRead = true
        if responseWritten { becomeIdle() } else {
            phase = .responding
            deadline?.cancel()
        }
    }

    /// A response has been written to its end (possibly before its request's body was read).
    func responseEnded() {
        responseWritten = true
        if requestRead { becomeIdle() }
    }

    // MARK: Private

    private func admit(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        guard count.enter(limit: limits.maxConnections) else {
            refused = true
            refuse(context, status: "503 Service Unavailable", type: "server_error",
                   message: "The server has \(limits.maxConnections) connections open, its limit; try again later.")
            return
        }
        admitted = true
        arm(limits.idleTimeout)
    }

    private func becomeIdle() {
        phase = .idle
        arm(limits.idleTimeout)
    }

    private func arm(_ timeout: Duration) {
        deadline?.cancel()
        guard let context else { return }
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [weak self] in
            self?.expire()
        }
    }

    private func expire() {
        guard let context else { return }
        switch phase {
        case .idle, .body:
            // Nothing to answer (idle), or a handler is reading the body and owns the response.
            context.close(promise: nil)
        case .header:
            refused = true
            refuse(context, status: "408 Request Timeout", type: "invalid_request_error",
                   message: "The request header did not arrive within \(limits.headerTimeout).")
        case .responding:
            break
        }
    }

    /// Answers with an OpenAI-shaped error before any HTTP parsing and ends the output; the connection
    /// closes when the client closes its side, or a second later.
    private func refuse(_ context: ChannelHandlerContext, status: String, type: String, message: String) {
        let body = #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":null}}"#
        let text = "HTTP/1.1 \(status)\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
            + "connection: close\r\n\r\n" + body
        deadline?.cancel()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)))
            .assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
                context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
            }
    }
}

/// Sits between NIO's HTTP/1 codec and the HTTP-types codec: it tells ``ConnectionGuard`` where each
/// request and response is, and answers HTTP/1.0 clients as HTTP/1.0 (RFC 9112 §9.3): the response goes out
/// as 1.0, unchunked (its end is the end of the connection), and the connection closes after it.
final class RequestTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connection: ConnectionGuard
    private var http10 = false

    init(connection: ConnectionGuard) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            connection.headerRead()
            http10 = head.version.major == 1 && head.version.minor == 0
            if http10 {
                // The request loop above ends the connection after a request that asks to close.
                head.headers.replaceOrAdd(name: "connection", value: "close")
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .body:
            break
        case .end:
            connection.bodyRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where http10:
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where http10:
            connection.responseEnded()
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        case .end:
            connection.responseEnded()
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
