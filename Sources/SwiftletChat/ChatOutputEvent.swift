/// A piece of a model's answer, as ``ChatOutputParser`` recognises it while the text streams in.
///
/// Concatenating the `content` events gives the answer's text, the `reasoning` events its reasoning,
/// and each call's `toolCallArguments` its arguments JSON text. A call's events come in the order
/// `toolCallStart`, `toolCallArguments`…, `toolCallID` (at most one, where the format has ids),
/// `toolCallEnd`; calls are numbered from 0 in order.
public enum ChatOutputEvent: Sendable, Equatable, Hashable {
    /// Answer text.
    case content(String)
    /// Reasoning text (the inside of `<think>` … `</think>`).
    case reasoning(String)
    /// A tool call begins; `name` is one of the offered tools.
    case toolCallStart(index: Int, name: String)
    /// More of the call's arguments: JSON text as the model wrote it.
    case toolCallArguments(index: Int, delta: String)
    /// The call's id, when the model wrote one (Mistral Nemo, the generic format's parallel calls).
    case toolCallID(index: Int, id: String)
    /// The call is complete (or the output ended inside it).
    case toolCallEnd(index: Int)
}
