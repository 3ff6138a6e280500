import ArgumentParser

#if SWIFTLET_TOKENIZER  // defined once the `tokenizer` branch is merged: see Package.swift
private let modelCommands: [ParsableCommand.Type] = [Generate.self, Perplexity.self]
#else
private let modelCommands: [ParsableCommand.Type] = []
#endif

@main
struct SwiftletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [Inspect.self, MakeFixtures.self] + modelCommands
    )
}
