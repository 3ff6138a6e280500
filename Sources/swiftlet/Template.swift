import ArgumentParser
import Foundation
import SwiftletChat
import SwiftletGGUF

/// `swiftlet template`: renders a conversation with a model's chat template, exactly as generation
/// would see it. Reads only metadata, so a GGUF file with a template and a vocabulary but no tensors is
/// enough.
struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a conversation with a model's chat template (ChatML when it has none).")

    @Option(help: "The GGUF model file.") var model: String
    @Option(help: ArgumentHelp("A JSON file holding an array of OpenAI-style messages.",
                               discussion: "The file holds [{\"role\": \"user\", \"content\": \"…\"}, …].",
                               valueName: "file"))
    var messages: String
    @Flag(help: "Leave out the generation prompt (the opening of the assistant's turn).") var noGenerationPrompt = false

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
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: messages)) } catch {
                throw CLIError("cannot read \(messages): \(error.localizedDescription)")
            }
            let rendered = try template.render(messagesJSON: data, addGenerationPrompt: !noGenerationPrompt,
                                               bosToken: text("tokenizer.ggml.bos_token_id"),
                                               eosToken: text("tokenizer.ggml.eos_token_id"))
            FileHandle.standardOutput.write(Data(rendered.utf8))
        }
    }
}
