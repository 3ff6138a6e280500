import SwiftletGrammar

/// One function tool of an OpenAI `tools` array (llama.cpp's `common_chat_tool`).
public struct ToolDefinition: Sendable, Equatable, Hashable {
    /// The function's name.
    public var name: String
    /// Its description (empty when not given).
    public var description: String
    /// The JSON schema its arguments follow. A tool without parameters, or with `{}`, takes no
    /// arguments: `{"type": "object", "properties": {}}` (llama.cpp's `common_chat_tool_parameters`).
    public var parameters: JSONValue
    /// The parameters as given (`{}` when absent), for showing the tool to the model.
    public var declaredParameters: JSONValue

    /// A tool; `parameters` nil, `null` or `{}` means it takes no arguments.
    public init(name: String, description: String = "", parameters: JSONValue? = nil) {
        self.name = name
        self.description = description
        declaredParameters = parameters ?? .object([])
        if let parameters, parameters != .null, parameters != .object([]) {
            self.parameters = parameters
        } else {
            self.parameters = .object([("type", .string("object")), ("properties", .object([]))])
        }
    }

    /// Reads an OpenAI `tools` array, as llama.cpp's `common_chat_tools_parse_oaicompat`: every entry
    /// must be `{"type": "function", "function": {"name": …}}`; `description` and `parameters` are optional.
    /// `null` is no tools.
    public static func parse(_ tools: JSONValue) throws(GrammarError) -> [ToolDefinition] {
        if tools == .null { return [] }
        guard let list = tools.array else {
            throw GrammarError("Expected 'tools' to be an array, got \(tools.jsonText)")
        }
        var result: [ToolDefinition] = []
        for (i, tool) in list.enumerated() {
            guard tool.object != nil, let type = tool["type"] else {
                throw GrammarError("tools[\(i)]: missing tool type in \(tool.jsonText)")
            }
            guard type.string == "function" else {
                throw GrammarError("tools[\(i)]: unsupported tool type \(type.jsonText)")
            }
            guard let function = tool["function"], function.object != nil else {
                throw GrammarError("tools[\(i)]: missing tool function")
            }
            guard let name = function["name"]?.string, !name.isEmpty else {
                throw GrammarError("tools[\(i)]: the function has no name")
            }
            if let description = function["description"], description.string == nil, description != .null {
                throw GrammarError("tools[\(i)] (\(name)): the description must be a string")
            }
            let parameters = function["parameters"]
            if let parameters, parameters.object == nil, parameters != .null {
                throw GrammarError("tools[\(i)] (\(name)): the parameters must be a JSON schema object")
            }
            result.append(ToolDefinition(name: name, description: function["description"]?.string ?? "",
                                         parameters: parameters))
        }
        var seen: Set<String> = []
        for tool in result where !seen.insert(tool.name).inserted {
            throw GrammarError("tools: the name \(tool.name) is used twice")
        }
        return result
    }

    /// The tool as llama.cpp hands it to templates (`common_chat_tools_to_json_oaicompat`):
    /// `{"type": "function", "function": {"name", "description", "parameters"}}`.
    public var openAIJSON: JSONValue {
        .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(name)),
                ("description", .string(description)),
                ("parameters", declaredParameters),
            ])),
        ])
    }
}
