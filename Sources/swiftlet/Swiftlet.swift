import ArgumentParser
import Foundation
import SwiftletKernels

@main
struct SwiftletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [Chat.self, Serve.self, Generate.self, Template.self, Quantize.self, Convert.self, Inspect.self, Tokenize.self, Perplexity.self, Bench.self, MakeFixtures.self, Dequantize.self]
    )

    static func main() async {
        let missing = CPUFeatures.missingFeatures()
        if !missing.isEmpty {
            printError("error: this swiftlet was built for CPUs with \(CPUFeatures.required.joined(separator: ", ")), and this CPU lacks \(missing.joined(separator: ", ")); rebuild with `make release FAST_FLAGS=` for the portable kernels")
            Foundation.exit(1)
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
