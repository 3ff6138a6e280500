// TEMPORARY placeholder until the jinja branch lands (not committed).
import Foundation
public struct ChatMessage: Sendable, Equatable, Codable { public var role: String; public var content: String; public init(role: String, content: String) { self.role = role; self.content = content } }
public struct RenderedSegment: Sendable, Equatable { public var text: String; public var isContent: Bool }
public struct ChatTemplate: Sendable {
  public let source: String
  public init(source: String) throws { self.source = source }
  public static let chatML = ChatTemplate(s: "")
  init(s: String) { source = s }
  public func renderAdapting(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws -> [RenderedSegment] {
    var out: [RenderedSegment] = []
    for m in messages { out.append(.init(text: "<|im_start|>\(m.role)\n", isContent: false)); out.append(.init(text: m.content, isContent: true)); out.append(.init(text: "<|im_end|>\n", isContent: false)) }
    if addGenerationPrompt { out.append(.init(text: "<|im_start|>assistant\n", isContent: false)) }
    return out
  }
}
