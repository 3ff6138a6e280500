extension ChatMessage {
    /// Who speaks a message: the four roles of OpenAI's chat API, or any other name a template knows
    /// (`developer`, Llama 3.1's `ipython`…).
    ///
    /// A template sees the role as its text (``rawValue``). Roles compare by that text, so
    /// `Role(rawValue: "user")` is ``user`` and `.other("user")` equals it too.
    public enum Role: Sendable, Hashable, Codable, RawRepresentable, CustomStringConvertible {
        /// Instructions for the whole conversation.
        case system
        /// The person talking to the model.
        case user
        /// The model.
        case assistant
        /// A tool's answer to a call the assistant made.
        case tool
        /// Any other role name, passed to the template as written.
        case other(String)

        /// OpenAI's newer name for the system role (the facade gives it to templates as `system`).
        public static let developer = Role.other("developer")

        /// The role named `rawValue`: one of the four cases when it names one, else ``other(_:)``.
        public init(rawValue: String) {
            switch rawValue {
            case "system": self = .system
            case "user": self = .user
            case "assistant": self = .assistant
            case "tool": self = .tool
            default: self = .other(rawValue)
            }
        }

        /// The role's name, as the template sees it.
        public var rawValue: String {
            switch self {
            case .system: "system"
            case .user: "user"
            case .assistant: "assistant"
            case .tool: "tool"
            case .other(let name): name
            }
        }

        public var description: String { rawValue }

        public static func == (a: Role, b: Role) -> Bool { a.rawValue == b.rawValue }

        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

        /// Decodes the role from its name (a JSON string).
        public init(from decoder: any Decoder) throws {
            self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
        }

        /// Encodes the role as its name (a JSON string).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }
}
