import ArgumentParser
import Foundation
import SwiftletChat
import SwiftletGGUF

/// `swiftlet template`: renders a conversation with a model's chat template, exactly as generation
/// would see it (adapted the same way when the template rejects it as given: see
/// `ChatTemplate.renderForGeneration`). Reads only metadata, so a GGUF file with a template and a
/// vocabulary but no tensors is enough.
struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a conversation with a model's chat template (ChatML when it has none).",
        discussion: """
            The template gets what Hugging Face's apply_chat_template and llama.cpp give it: messages \
            (tool calls' "arguments" text parsed into JSON values, null content as ""), \
            add_generation_prompt, bos_token, eos_token, tools (with --tools), strftime_now, and the \
            variables of --kwargs and --var (set last, so they override the others). A conversation the \
            template rejects (a system message Gemma does not take, two user turns in a row, an assistant \
            turn first) is adapted as generation adapts it: system text folded into the first user turn, \
            same-role turns merged, an empty user turn before an opening assistant turn; "developer" is \
            given as "system". --strict renders the conversation as given instead.
            """)

    @Option(help: "The GGUF model file.") var model: String
    @Option(help: ArgumentHelp("A JSON file holding an array of OpenAI-style messages.",
                               discussion: "The file holds [{\"role\": \"user\", \"content\": \"…\"}, …]; "
                                   + "assistant messages may carry \"tool_calls\", tool messages \"tool_call_id\".",
                               valueName: "file"))
    var messages: String
    @Option(help: ArgumentHelp("A JSON file holding an OpenAI tools array, given to the template as `tools`.",
                               discussion: "[{\"type\": \"function\", \"function\": {\"name\": …, "
                                   + "\"description\": …, \"parameters\": {JSON Schema}}}, …]",
                               valueName: "file"))
    var tools: String?
    @Option(help: ArgumentHelp("A JSON file holding an object whose members become template variables "
                                   + "(chat_template_kwargs), e.g. {\"enable_thinking\": false}.",
                               valueName: "file"))
    var kwargs: String?
    @Option(name: .customLong("var"), parsing: .singleValue,
            help: ArgumentHelp("A template variable whose value is JSON, e.g. --var enable_thinking=false "
                                   + "or --var 'date_string=\"01 Jan 2025\"'. Repeatable; applied after --kwargs.",
                               valueName: "name=json"))
    var variables: [String] = []
    @Option(help: ArgumentHelp("The local time strftime_now() formats instead of the current time: "
                                   + "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]].",
                               valueName: "date"))
    var now: String?
    @Flag(help: "Leave out the generation prompt (the opening of the assistant's turn).") var noGenerationPrompt = false
    @Flag(help: ArgumentHelp("Render the conversation as given, as Hugging Face's apply_chat_template does: "
                                 + "a conversation the template rejects is an error, not adapted."))
    var strict = false

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(path: model)
            let md = file.metadata
            let template = try md["tokenizer.chat_template"]?.string.flatMap { $0.isEmpty ? nil : $0 }
                .map { try ChatTemplate(source: $0) } ?? ChatTemplate.chatML
            let tokens = md["tokenizer.ggml.tokens"]?.typedArray?.strings ?? []
            func text(_ key: String) -> String {
                guard let id = md[key]?.int, tokens.indices.contains(id) else { return "" }
                return tokens[id]
            }
            func read(_ path: String) throws -> Data {
                do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                    throw CLIError("cannot read \(path): \(error.localizedDescription)")
                }
            }
            var extra: [String: String] = [:]
            if let kwargs {
                let object = String(decoding: try read(kwargs), as: UTF8.self)
                extra = try ChatTemplate.extraVariables(fromJSONObject: object)
            }
            for v in variables {
                guard let eq = v.firstIndex(of: "="), eq != v.startIndex else {
                    throw CLIError("--var: expected name=JSON, got '\(v)'")
                }
                extra[String(v[..<eq])] = String(v[v.index(after: eq)...])
            }
            let time = try now.map { text throws -> Date in
                guard let date = Template.localDate(text) else {
                    throw CLIError("--now: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]], got '\(text)'")
                }
                return date
            } ?? Date()
            let json = try read(messages)
            let bos = text("tokenizer.ggml.bos_token_id"), eos = text("tokenizer.ggml.eos_token_id")
            let toolsText = try tools.map { String(decoding: try read($0), as: UTF8.self) }
            let rendered = strict
                ? try template.render(messagesJSON: json, addGenerationPrompt: !noGenerationPrompt, bosToken: bos,
                                      eosToken: eos, tools: toolsText, extraVariables: extra, now: time)
                : try template.renderForGeneration(messagesJSON: json, addGenerationPrompt: !noGenerationPrompt,
                                                   bosToken: bos, eosToken: eos, tools: toolsText,
                                                   extraVariables: extra, now: time)
            FileHandle.standardOutput.write(Data(rendered.utf8))
        }
    }

    /// `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]]` (what Python's `datetime.isoformat()` writes) as a wall-clock
    /// time in the local time zone; nil when it is not one.
    static func localDate(_ text: String) -> Date? {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count <= 2 else { return nil }
        let day = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard day.count == 3, day[0].count == 4, day[1].count == 2, day[2].count == 2,
              let y = Int(day[0]), let m = Int(day[1]), let d = Int(day[2]) else { return nil }
        var c = DateComponents(year: y, month: m, day: d, hour: 0, minute: 0, second: 0, nanosecond: 0)
        if parts.count == 2 {
            let clock = parts[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), clock[0].count == 2, clock[1].count == 2,
                  let h = Int(clock[0]), let mi = Int(clock[1]) else { return nil }
            (c.hour, c.minute) = (h, mi)
            if clock.count == 3 {
                let sec = clock[2].split(separator: ".", omittingEmptySubsequences: false)
                guard (1...2).contains(sec.count), sec[0].count == 2, let s = Int(sec[0]) else { return nil }
                c.second = s
                if sec.count == 2 {
                    guard (1...9).contains(sec[1].count), sec[1].allSatisfy(\.isASCII), let f = Int(sec[1]) else {
                        return nil
                    }
                    c.nanosecond = f * Int(pow(10, Double(9 - sec[1].count)))
                }
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        guard c.isValidDate(in: calendar), let date = calendar.date(from: c) else { return nil }
        return date
    }
}
