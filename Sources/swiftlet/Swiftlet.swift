import ArgumentParser

@main
struct SwiftletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [Chat.self, Generate.self, Inspect.self, Tokenize.self, Perplexity.self, Bench.self, MakeFixtures.self]
    )
}
