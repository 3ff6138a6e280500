import ArgumentParser

@main
struct SwiftletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [Inspect.self, Tokenize.self, Generate.self, Perplexity.self, Bench.self, MakeFixtures.self]
    )
}
