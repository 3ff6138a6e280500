import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletTokenizer

/// `swiftlet tokenize`: text to token ids, with the meaning of llama.cpp's `llama-tokenize` flags.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text.")

    @Option(help: "The GGUF model whose vocabulary to use.") var model: String
    @Flag(name: .customLong("no-bos"), help: "Do not add BOS, even when the model's metadata says to.") var noBOS = false
    @Flag(name: .customLong("no-parse-special"), help: "Treat control-token text (<|im_start|>) as plain text.") var noParseSpecial = false
    @Flag(help: "Print a JSON array of integers and nothing else.") var json = false
    @Option(help: "Tokenize this file's bytes exactly.") var file: String?
    @Argument(help: "The text (or use --file).") var text: String?

    func run() throws {
        try reportingErrors {
            let bytes: [UInt8]
            switch (text, file) {
            case (let t?, nil): bytes = Array(t.utf8)
            case (nil, let f?):
                guard let data = FileManager.default.contents(atPath: f) else { throw CLIError("cannot read \(f)") }
                bytes = Array(data)
            case (nil, nil): throw CLIError("give a TEXT argument or --file")
            default: throw CLIError("give either a TEXT argument or --file, not both")
            }
            let gguf = try GGUFFile(path: model)
            let tokenizer = try Tokenizer(metadata: gguf.metadata)
            for w in tokenizer.warnings { printError("warning: \(w)") }
            let ids = tokenizer.encode(bytes: bytes, addBOS: noBOS ? false : nil, parseSpecial: !noParseSpecial)
            if json {
                print(JSONText.array(ids.map(String.init)))
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }
}
