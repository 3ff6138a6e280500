import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletModel

/// `swiftlet convert`: a Hugging Face model folder (safetensors) as a GGUF file, as llama.cpp's
/// `convert_hf_to_gguf.py` writes it.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Hugging Face model folder (safetensors, config.json, tokenizer) to GGUF.",
        discussion:
            "Supported architectures: \(ModelConversion.mappings.flatMap { $0.architectures }.joined(separator: ", "))."
    )

    @Argument(help: "The model folder (config.json, model.safetensors, tokenizer.json or vocab.txt).") var folder:
        String
    @Argument(help: "The GGUF file to write (replaced if it exists; nothing is written on error).") var output: String
    @Option(name: .long, help: "Type of the 2-D weights: F32, F16 or Q8_0 (vectors and norms stay F32).")
    var type: String = "F16"

    func run() throws {
        try reportingErrors {
            let names: [String: GGMLType] = ["F32": .f32, "F16": .f16, "Q8_0": .q8_0]
            guard let target = names[type.uppercased()] else {
                throw CLIError("unknown type '\(type)': expected one of F32, F16, Q8_0")
            }
            let start = ProcessStats.now()
            let summary = try ModelConversion.convert(folder: folder, to: output, type: target)
            for w in summary.warnings { printError("warning: \(w)") }
            printError(
                String(
                    format: "wrote %@ (%@, %@, %d tensors) in %.1f s", output, summary.architecture,
                    target.name, summary.tensorCount, ProcessStats.now() - start))
        }
    }
}
