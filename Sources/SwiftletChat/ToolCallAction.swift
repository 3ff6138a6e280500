/// What a tool-call section found, in order, as the characters came; ``ChatOutputParser`` turns these
/// into ``ChatOutputEvent``s (numbering the calls).
enum ToolCallAction: Equatable, Sendable {
    /// A call to the named function begins (its name was read and is one of the offered tools).
    case start(name: String)
    /// More of the current call's arguments text.
    case arguments(String)
    /// The current call's id (Mistral Nemo's `"id"`, the generic format's `"id"`).
    case id(String)
    /// The current call is complete.
    case end
    /// Text to show as content (the generic format's `"response"`).
    case content(String)
}

/// How a section parser took one character.
enum ToolCallStep: Equatable, Sendable {
    /// The character belongs to the section, which goes on.
    case consumed
    /// The section is over. `leftover` is text it read without using (a partial closing tag that did
    /// not complete, and the character itself when it does not belong): it goes back to the parser.
    case ended(leftover: [Unicode.Scalar])
    /// The text cannot be this section's syntax; the character was not used.
    case failed
}
