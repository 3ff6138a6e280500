import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel (`HTTP1Channel`) with Swiftlet's guards added: the connection limit,
/// the header, body and idle deadlines of ``ServerLimits`` (``ConnectionGuard``, on the raw bytes), and
/// HTTP/1.0 answered as 1.0 (``RequestTracker``, between the HTTP/1 codec and the HTTP-types codec, where
/// the protocol version is still visible).
struct SwiftletHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let limits: ServerLimits
    let count: ConnectionCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(limits: limits, count: count)
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(connection)
            try operations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the request loop reads one request at a time
                withErrorHandling: false,  // parse errors are answered 400 by the request loop
                withOutboundHeaderValidation: false,  // HTTP types validate their fields
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init())
            try operations.addHandler(RequestTracker(connection: connection))
            try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            // Closes idle connections when the server shuts down (deadlines are the guard's).
            try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
