import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletTokenizer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text, as llama.cpp's llama-tokenize would.")

    @Option(help: "The GGUF model file.") var model: String
    @Flag(help: "Do not add BOS (or EOS) even when the model's metadata asks for it.") var noBos = false
    @Flag(help: "Treat control tokens written in the text (<|im_start|>) as plain text.") var noParseSpecial = false
    @Flag(help: "Print only a JSON array of ids.") var json = false
    @Option(help: "Tokenize this file's bytes exactly.") var file: String?
    @Argument(help: "The text to tokenize.") var text: String?

    func run() throws {
        try reportingErrors {
            let bytes: [UInt8]
            switch (text, file) {
            case (let t?, nil): bytes = Array(t.utf8)
            case (nil, let f?):
                guard let d = FileManager.default.contents(atPath: f) else { throw CLIError("cannot read \(f)") }
                bytes = [UInt8](d)
            default: throw CLIError("give either TEXT or --file F")
            }
            let gguf = try GGUFFile(path: model)
            let tokenizer = try Tokenizer(metadata: gguf.metadata)
            for w in tokenizer.warnings { printError("warning: \(w)") }
            let ids = tokenizer.encode(bytes: bytes, addBOS: noBos ? false : nil, parseSpecial: !noParseSpecial)
            if json {
                print("[" + ids.map(String.init).joined(separator: ", ") + "]")
            } else {
                for id in ids {
                    let piece = String(decoding: tokenizer.tokenBytes(id), as: UTF8.self)
                    print("\(id) -> \(JSONText.string(piece))")
                }
            }
        }
    }
}
