import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletModel

/// `swiftlet quantize`: a model file's weights in another type (F16, Q8_0, Q4_0, Q4_1), as
/// `llama-quantize --allow-requantize` makes them.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a copy of a model with its weights in another type (F16, Q8_0, Q4_0 or Q4_1).")

    @Argument(help: "The GGUF model to read.") var input: String
    @Argument(help: "The GGUF file to write (replaced if it exists).") var output: String
    @Argument(help: "Target type: F16, Q8_0, Q4_0 or Q4_1.") var type: String

    func run() throws {
        try reportingErrors {
            let names: [String: GGMLType] = ["F16": .f16, "Q8_0": .q8_0, "Q4_0": .q4_0, "Q4_1": .q4_1]
            guard let target = names[type.uppercased()] else {
                throw CLIError("unknown type '\(type)': expected one of F16, Q8_0, Q4_0, Q4_1")
            }
            guard URL(fileURLWithPath: input).standardized != URL(fileURLWithPath: output).standardized else {
                throw CLIError("the output must be another file than the input")
            }
            let file = try GGUFFile(path: input)
            let start = ProcessStats.now()
            let writer = try Requantize.convert(file, to: target)
            try writer.write(to: output)
            printError(String(format: "wrote %@ (%@) in %.1f s", output, target.name, ProcessStats.now() - start))
        }
    }
}
