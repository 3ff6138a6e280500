extension Grammar {
    /// One element of a compiled rule, as llama.cpp's `llama_grammar_element`.
    ///
    /// A rule is a list of alternatives separated by ``Kind/alternative`` and closed by ``Kind/end``.
    /// Character classes are a ``Kind/character``, ``Kind/notCharacter`` or ``Kind/anyCharacter``
    /// followed by ``Kind/characterRangeUpper`` and ``Kind/characterAlternative`` modifiers.
    public struct Element: Sendable, Hashable {
        /// The element types of llama.cpp's `llama_gretype`, with the same raw values.
        public enum Kind: UInt8, Sendable, Hashable {
            /// End of the rule definition.
            case end = 0
            /// Start of another alternative of the rule.
            case alternative = 1
            /// A reference to the rule whose id is `value`.
            case ruleReference = 2
            /// The code point `value`.
            case character = 3
            /// Any code point except those of the class that starts here (`[^...]`).
            case notCharacter = 4
            /// Makes the preceding character an inclusive range up to `value` (`[a-z]`).
            case characterRangeUpper = 5
            /// Adds the code point `value` to the preceding class (`[ab]`).
            case characterAlternative = 6
            /// Any code point (`.`).
            case anyCharacter = 7
            /// The token whose id is `value` (`<[id]>`, `<name>`).
            case token = 8
            /// Any token except the one whose id is `value` (`!<[id]>`).
            case notToken = 9
        }

        public var kind: Kind
        /// A code point, a rule id or a token id, by ``kind``.
        public var value: UInt32

        public init(_ kind: Kind, _ value: UInt32 = 0) {
            self.kind = kind
            self.value = value
        }

        /// Whether the element ends an alternative (llama.cpp's `llama_grammar_is_end_of_sequence`).
        var isEndOfSequence: Bool { kind == .end || kind == .alternative }

        /// Whether the element belongs to a character class (llama.cpp's `is_char_element`).
        var isCharacterElement: Bool {
            switch kind {
            case .character, .notCharacter, .characterAlternative, .characterRangeUpper, .anyCharacter: true
            default: false
            }
        }

        /// Whether the element matches whole tokens by id.
        var isToken: Bool { kind == .token || kind == .notToken }
    }
}
