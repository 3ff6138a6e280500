import Synchronization
import SwiftletChat

/// A conversation with a model. Each `send(_:options:)` appends the user's message, streams the reply
/// and appends it to the history when it finishes (a cancelled or failed turn takes its message back);
/// the model's cache keeps the conversation's prefix, so a turn evaluates only its new tokens.
///
/// ```swift
/// let saved: [ChatMessage] = try JSONDecoder().decode([ChatMessage].self, from: data)
/// let session = ChatSession(model: model, history: saved)   // or model.session(history: saved)
/// for try await event in try session.send("And then?") { … }
/// let toSave = try JSONEncoder().encode(session.messages)
/// ```
public final class ChatSession: Sendable {
    /// The model the conversation runs on.
    public let model: Model
    private let history: Mutex<[ChatMessage]>

    /// A conversation on `model` that starts from `history` (a saved conversation, a system message…);
    /// the next `send(_:options:)` continues it. The history is checked when a turn is sent, as
    /// ``Model/chat(_:options:)`` checks a conversation.
    public init(model: Model, history: [ChatMessage] = []) {
        self.model = model
        self.history = Mutex(history)
    }

    /// The conversation so far.
    public var messages: [ChatMessage] { history.withLock { $0 } }

    /// Sends `text` as the user's next message and streams the assistant's reply.
    public func send(_ text: String,
                     options: GenerationOptions = GenerationOptions()) throws(SwiftletError) -> GenerationStream {
        try send(ChatMessage(role: .user, content: text), options: options)
    }

    /// Answers a tool call the assistant made (its ``GenerationEvent/toolCall(_:)``) with `result`, and
    /// streams the assistant's next reply. Pass the same tools in `options` so it may call again.
    public func sendToolResult(
        _ result: String, for call: ChatToolCall, options: GenerationOptions = GenerationOptions()
    ) throws(SwiftletError) -> GenerationStream {
        try send(ChatMessage(role: .tool, content: result, toolCallID: call.id, name: call.name), options: options)
    }

    /// Appends `message` (a user turn, a tool result…) and streams the assistant's reply; the reply, with
    /// its tool calls and reasoning, joins the history when it finishes. A message that cannot be sent
    /// (the request fails before generating) is taken back out.
    public func send(_ message: ChatMessage,
                     options: GenerationOptions = GenerationOptions()) throws(SwiftletError) -> GenerationStream {
        let conversation = history.withLock { history -> [ChatMessage] in
            history.append(message)
            return history
        }
        let upstream: GenerationStream
        do throws(SwiftletError) {
            upstream = try model.chat(conversation, options: options)
        } catch {
            history.withLock { _ = $0.popLast() }
            throw error
        }
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let task = Task {
            var reply = "", reasoning = ""
            var calls: [ChatToolCall] = []
            var answered = false
            do {
                for try await event in upstream {
                    switch event {
                    case .text(let delta): reply += delta
                    case .reasoning(let delta): reasoning += delta
                    case .toolCall(let call): calls.append(call)
                    case .toolCallDelta: break
                    case .finished(let summary) where summary.finishReason == .cancelled:
                        answered = true
                        self.takeBack(message)
                    case .finished:
                        answered = true
                        let reply = ChatMessage(role: .assistant, content: reply,
                                                toolCalls: calls.isEmpty ? nil : calls,
                                                reasoningContent: reasoning.isEmpty ? nil : reasoning)
                        self.history.withLock { $0.append(reply) }
                    }
                    continuation.yield(event)
                }
                if !answered { self.takeBack(message) }
                continuation.finish()
            } catch {
                if !answered { self.takeBack(message) }
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        // Cancelling stops the generation, which then ends with a `.cancelled` summary.
        return GenerationStream(base: stream) { upstream.cancel() }
    }

    /// Removes `message` again: a turn that got no answer (cancelled, failed) leaves no trace, so the next
    /// one does not follow two user messages in a row.
    private func takeBack(_ message: ChatMessage) {
        history.withLock { history in
            if let i = history.lastIndex(of: message) { history.remove(at: i) }
        }
    }
}
