import Foundation
import Logging
import Synchronization
@_exported import SwiftletChat
@_exported import SwiftletGrammar
import SwiftletGGUF
import SwiftletKernels
import SwiftletModel
@_exported import SwiftletSampling
import SwiftletTokenizer

/// A language model loaded for generation: the entry point of the Swiftlet library.
///
/// ```swift
/// import Swiftlet
///
/// let model = try await Swiftlet.Model.load("SmolLM2-135M-Instruct.Q4_1.gguf")
/// for try await event in try model.chat([ChatMessage(role: .user, content: "Hello!")]) {
///     if case .text(let delta) = event { print(delta, terminator: "") }
/// }
/// ```
/// One `Model` serves many concurrent generations: each runs in one of `parallel` sequences with its own
/// KV cache; further requests wait their turn in a first-come, first-served queue.
///
/// An embedding model (a BERT encoder such as all-MiniLM-L6-v2, ``isEmbeddingModel``) loads through the
/// same call without a KV cache or scheduler; it answers ``embed(_:truncate:)`` and refuses generation.
///
/// Every throwing function throws ``SwiftletError``.
public final class Model: Sendable {
    /// Options fixed at load time.
    public struct LoadOptions: Sendable {
        /// Positions per sequence (prompt and generated tokens); nil uses the smaller of the model's trained
        /// context and 4096.
        public var contextLength: Int?
        /// Sequences that can generate at once; KV memory is `contextLength × parallel`.
        public var parallel: Int
        /// Threads for the matrix products.
        public var threads: Int
        /// Whether `contextLength` may exceed the context the model was trained for (its metadata's
        /// `context_length`); past it, most models' output degrades, so a longer context is refused
        /// (``SwiftletError/contextBeyondTraining(requested:trained:)``) unless this is set.
        public var allowContextBeyondTraining: Bool
        /// Where the library's warnings go (an unknown pre-tokenizer, kernels slower than the CPU allows…).
        public var logger: Logger
        /// Host memory, in bytes, for the KV prefixes of sequences whose slot was taken by another prompt
        /// (llama-server's `--cache-ram`): a later prompt sharing such a prefix restores it instead of
        /// evaluating it again. 0 turns the prompt cache off.
        public var promptCacheBytes: Int
        /// How the KV cache stores keys (llama.cpp's `--cache-type-k`); ``KVCacheType/q8_0`` about halves
        /// the memory of F16, the default.
        public var keyCacheType: KVCacheType
        /// How the KV cache stores values (llama.cpp's `--cache-type-v`).
        public var valueCacheType: KVCacheType

        /// Options with the given values; the defaults suit one conversation on a two-core machine.
        public init(contextLength: Int? = nil, parallel: Int = 1, threads: Int = 2,
                    allowContextBeyondTraining: Bool = false, logger: Logger = Logger(label: "swiftlet"),
                    promptCacheBytes: Int = LoadOptions.defaultPromptCacheBytes,
                    keyCacheType: KVCacheType = .f16, valueCacheType: KVCacheType = .f16) {
            self.contextLength = contextLength
            self.parallel = parallel
            self.threads = threads
            self.allowContextBeyondTraining = allowContextBeyondTraining
            self.logger = logger
            self.promptCacheBytes = promptCacheBytes
            self.keyCacheType = keyCacheType
            self.valueCacheType = valueCacheType
        }

        /// 2 GiB: about 90 000 SmolLM2 positions, or a few dozen long conversations of a 1B model, while
        /// leaving most of a 24 GiB machine to weights and other models.
        public static let defaultPromptCacheBytes = 2 << 30
    }

    /// The model's name: its file name without `.gguf`.
    public let id: String
    /// Path of the GGUF file the model was loaded from.
    public let path: String
    /// Positions each sequence holds (prompt plus generated tokens); for an embedding model, the most
    /// tokens one input may have.
    public let contextLength: Int
    /// The model's tokenizer.
    public let tokenizer: Tokenizer
    /// The chat template in use: the model's own, or ChatML when the file has none.
    public let template: ChatTemplate
    /// Whether the template came from the model file (false: the ChatML fallback).
    public let hasOwnTemplate: Bool
    /// The forward pass (internal: the lower layer's types stay out of the facade's API).
    let network: SwiftletModel.Transformer
    /// Token ids that end a generation (declared EOS/EOT/EOM plus known end-of-turn markers).
    public let endOfGenerationIDs: Set<Int>
    /// Runs the generations (nil for an embedding model, which generates nothing).
    let scheduler: Scheduler?
    let bosText: String
    let eosText: String
    /// Stop strings every chat adds: the fallback template's end-of-turn marker when the vocabulary
    /// has no such token (ChatML on Gemma), so the model's written `<|im_end|>` still ends the turn.
    public let chatStopStrings: [String]
    /// How the template's model writes tool calls and reasoning (detected from the template).
    public let outputFormat: ChatOutputFormat
    /// Where warnings go (``LoadOptions/logger``).
    let logger: Logger
    /// Every token's bytes for grammars, built on the first constrained request.
    private let grammarTokens = Mutex<GrammarVocabulary?>(nil)
    /// ``longestTokenBytes``, computed on first use.
    private let longestToken = Mutex<Int?>(nil)
    /// Sequences that generate at once (``LoadOptions/parallel``).
    public let parallel: Int
    /// Bytes the model holds while loaded, estimated: its file (mapped) plus the KV caches and scratch
    /// memory of `parallel` sequences of `contextLength` positions (``ModelRegistry`` bounds the sum).
    public let residentBytes: Int

    /// Loads the GGUF model at `path`, off the caller's executor.
    public static func load(_ path: String, options: LoadOptions = LoadOptions()) async throws(SwiftletError) -> Model {
        try await Task.detached(priority: .userInitiated) {
            Result { () throws(SwiftletError) in try Model(path: path, options: options) }
        }.value.get()
    }

    /// Loads the GGUF model at `path` synchronously.
    ///
    /// Throws ``SwiftletError/modelFile(path:reason:)`` for a file that cannot be read or used,
    /// ``SwiftletError/invalidOption(_:)`` for options out of range (or a KV cache type the model's head size
    /// does not divide into),
    /// ``SwiftletError/contextBeyondTraining(requested:trained:)`` and
    /// ``SwiftletError/insufficientMemory(neededBytes:availableBytes:message:)`` (checked before the KV
    /// caches are allocated).
    public init(path: String, options: LoadOptions = LoadOptions()) throws(SwiftletError) {
        guard (1...64).contains(options.parallel) else {
            throw SwiftletError.invalidOption("parallel must be between 1 and 64, got \(options.parallel)")
        }
        guard (1...256).contains(options.threads) else {
            throw SwiftletError.invalidOption("threads must be between 1 and 256, got \(options.threads)")
        }
        let file: GGUFFile
        let network: SwiftletModel.Transformer
        let tokenizer: Tokenizer
        do {
            file = try GGUFFile(path: path)
            network = try SwiftletModel.Transformer(file: file, threads: options.threads)
            tokenizer = try Tokenizer(metadata: file.metadata)
        } catch {
            throw .modelFile(path: path, reason: String(describing: error))
        }
        let trained = network.config.trainedContextLength
        let encoder = network.isEncoder
        // An encoder's limit is its positions; a shorter context may be asked for, not a longer one.
        let context = encoder ? min(options.contextLength ?? network.maxInputTokens, network.maxInputTokens)
            : options.contextLength ?? min(trained > 0 ? trained : 4096, 4096)
        guard context >= 16 || encoder && context >= 1, context <= 1 << 20 else {
            throw SwiftletError.invalidOption("context length must be between 16 and 1048576, got \(context)")
        }
        if !encoder { do throws(ModelError) {
            try network.checkCacheTypes(keyStorage: options.keyCacheType.storage,
                                        valueStorage: options.valueCacheType.storage)
        } catch {
            throw SwiftletError.invalidOption(error.description)
        }
        do throws(ModelError) {
            try network.checkContext(context, allowBeyondTraining: options.allowContextBeyondTraining)
            try network.checkMemory(context: context, sequences: options.parallel,
                                    keyStorage: options.keyCacheType.storage,
                                    valueStorage: options.valueCacheType.storage)
        } catch {
            throw SwiftletError(error)
        } }
        logger = options.logger
        for warning in tokenizer.warnings { logger.warning("\(warning)", metadata: ["model": "\(path)"]) }
        if let warning = CPUFeatures.portableKernelsWarning() { logger.warning("\(warning)") }
        let md = file.metadata
        endOfGenerationIDs = EndOfGeneration.tokenIDs(
            tokens: md["tokenizer.ggml.tokens"]?.typedArray?.strings ?? [],
            declared: ["eos", "eot", "eom"].map { md["tokenizer.ggml.\($0)_token_id"]?.int })
        self.network = network
        self.tokenizer = tokenizer
        self.contextLength = context
        self.path = path
        parallel = options.parallel
        let need = encoder ? (cache: 0, workspace: network.memoryNeeded(context: context, sequences: 1).workspace)
            : network.memoryNeeded(context: context, sequences: options.parallel)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        residentBytes = fileBytes.addingSaturating(need.cache).addingSaturating(need.workspace)
        id = Model.identifier(forPath: path)
        if let source = md["tokenizer.chat_template"]?.string, !source.isEmpty {
            do {
                template = try ChatTemplate(source: source)
            } catch {
                throw SwiftletError.template("the model's chat template does not parse: \(error)")
            }
            hasOwnTemplate = true
        } else {
            template = ChatTemplate.chatML
            hasOwnTemplate = false
        }
        bosText = tokenizer.bosID.map { tokenizer.tokenText($0) } ?? ""
        eosText = tokenizer.eosID.map { tokenizer.tokenText($0) } ?? ""
        let imEnd = tokenizer.encode("<|im_end|>", addBOS: false, parseSpecial: true)
        chatStopStrings = !hasOwnTemplate && !(imEnd.count == 1 && endOfGenerationIDs.contains(imEnd[0]))
            ? ["<|im_end|>"] : []
        outputFormat = ChatOutputFormat(templateSource: hasOwnTemplate ? template.source : "")
        if encoder {
            scheduler = nil
            return
        }
        do throws(ModelError) {
            scheduler = try Scheduler(model: network, tokenizer: tokenizer, endOfGeneration: endOfGenerationIDs,
                                      context: context, parallel: options.parallel,
                                      promptCacheBytes: options.promptCacheBytes,
                                      keyCache: options.keyCacheType.storage,
                                      valueCache: options.valueCacheType.storage)
        } catch {
            throw SwiftletError(error)
        }
    }

    deinit { scheduler?.shutdown() }

    /// The id a model file gets: its file name without the `.gguf` extension.
    public static func identifier(forPath path: String) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name
    }

    /// Bytes of text the longest token of the vocabulary stands for (computed once): a text of `n` bytes
    /// needs at least `n / longestTokenBytes` tokens.
    public var longestTokenBytes: Int {
        longestToken.withLock { cached in
            if let cached { return cached }
            let made = max(1, (0..<tokenizer.vocabularySize).reduce(0) { max($0, tokenizer.tokenBytes($1).count) })
            cached = made
            return made
        }
    }

    /// Engine counters (requests, queue depth, tokens, KV-cache bytes…).
    public var metrics: EngineMetrics { scheduler?.metrics.withLock { $0 } ?? EngineMetrics() }

    /// Roles a conversation may use; `ChatMessage.Role.developer` is OpenAI's newer name for `system`.
    public static let knownRoles: Set<ChatMessage.Role> = [.system, .developer, .user, .assistant, .tool]

    /// Renders `messages` with the chat template and tokenizes the result: the template's own text with
    /// control tokens parsed, message content without (a user who types `<|im_start|>` gets those
    /// characters, not the token). A BOS the template writes is not doubled by the automatic one.
    public func promptTokens(for messages: [ChatMessage],
                             addGenerationPrompt: Bool = true) throws(SwiftletError) -> [Int] {
        try prompt(for: messages, addGenerationPrompt: addGenerationPrompt, tools: nil, variables: [:]).tokens
    }

    /// The prompt text generation renders for `messages` (before tokenization): the chat template's
    /// output for the conversation, adapted when the template rejects it as given (see
    /// `ChatTemplate.adapt(_:)`). `swiftlet template` prints the same text.
    public func promptText(for messages: [ChatMessage], addGenerationPrompt: Bool = true,
                           variables: [String: JSONValue] = [:]) throws(SwiftletError) -> String {
        try prompt(for: messages, addGenerationPrompt: addGenerationPrompt, tools: nil, variables: variables).text
    }

    /// The rendered prompt's tokens and text.
    func prompt(for messages: [ChatMessage], addGenerationPrompt: Bool, tools: JSONValue?,
                variables: [String: JSONValue]) throws(SwiftletError) -> (tokens: [Int], text: String) {
        guard !messages.isEmpty else { throw SwiftletError.emptyConversation }
        if let unknown = messages.first(where: { !Model.knownRoles.contains($0.role) }) {
            throw SwiftletError.unknownRole(unknown.role.rawValue)
        }
        let segments: [RenderedSegment]
        do {
            segments = try template.renderForGeneration(
                messages: messages, addGenerationPrompt: addGenerationPrompt,
                bosToken: bosText, eosToken: eosText, tools: tools?.jsonText,
                extraVariables: variables.mapValues(\.jsonText))
        } catch {
            throw SwiftletError.template(String(describing: error))
        }
        let startsWithBOS = !bosText.isEmpty && segments.first.map { !$0.isContent && $0.text.hasPrefix(bosText) } == true
        let tokens = tokenizer.encode(segments: segments.map { (text: $0.text, parseSpecial: !$0.isContent) },
                                      addBOS: startsWithBOS ? false : nil)
        return (tokens, segments.map(\.text).joined())
    }

    /// Generates the assistant's reply to `messages`.
    ///
    /// Errors found before generation starts (an empty conversation, an unknown role, a prompt longer than
    /// the context, invalid options, a grammar or schema that cannot be used) are thrown here; the stream
    /// then yields text deltas (reasoning and tool calls as their own events) and ends with a
    /// ``GenerationEvent/finished(_:)`` summary. Cancelling the consuming task stops generation within one
    /// token and frees its sequence.
    public func chat(_ messages: [ChatMessage],
                     options: GenerationOptions = GenerationOptions()) throws(SwiftletError) -> GenerationStream {
        _ = try generator()
        var options = options
        options.stop += chatStopStrings
        let offered = options.toolChoice == .none ? [] : options.tools
        if !offered.isEmpty, options.grammar != nil || options.jsonSchema != nil {
            throw SwiftletError.invalidOption("tools cannot be combined with a grammar or a JSON schema")
        }
        if case .named(let name) = options.toolChoice, !offered.contains(where: { $0.name == name }) {
            throw SwiftletError.invalidOption("the tool choice names '\(name)', which is not among the tools")
        }
        let source = hasOwnTemplate ? template.source : ""
        var syntax = ChatOutputSyntax(templateSource: source)
        var conversation = messages
        var variables = options.templateVariables
        var plan = try toolPlan(offered, syntax: syntax, options: options)
        if let plan {
            if let note = plan.systemNote { conversation = ToolCallSystemNote.adding(note, to: conversation) }
            if !plan.builtinTools.isEmpty, variables["builtin_tools"] == nil {
                variables["builtin_tools"] = .array(plan.builtinTools.map { .string($0) })
            }
            options.stop += plan.additionalStops
        }
        let rendered = try prompt(for: conversation, addGenerationPrompt: true,
                                  tools: offered.isEmpty ? nil : .array(offered.map(\.openAIJSON)),
                                  variables: variables)
        let opened = ChatOutputSyntax(templateSource: source, renderedPrompt: rendered.text)
        if opened.startsInReasoning != syntax.startsInReasoning {
            syntax = opened
            plan = try toolPlan(offered, syntax: syntax, options: options)
        }
        var output = GenerationOutput()
        if let plan, let gbnf = plan.grammar {
            output.grammar = try matcher(gbnf, triggers: plan.lazy ? plan.grammarTriggers : [])
        } else {
            output.grammar = try matcher(for: options)
        }
        output.reader = ChatOutputParser(syntax: syntax, toolNames: offered.map(\.name))
        return try generator().submit(prompt: rendered.tokens, options: options, output: output)
    }

    /// Continues raw `prompt` text (no chat template; BOS per the model's metadata, special tokens parsed).
    public func complete(_ prompt: String,
                         options: GenerationOptions = GenerationOptions()) throws(SwiftletError) -> GenerationStream {
        guard !prompt.isEmpty else { throw SwiftletError.emptyPrompt }
        try refuseTools(options)
        return try generator().submit(prompt: tokenizer.encode(prompt), options: options,
                                    output: GenerationOutput(grammar: try matcher(for: options)))
    }

    /// Generates from an already tokenized `prompt`.
    public func generate(tokens prompt: [Int],
                         options: GenerationOptions = GenerationOptions()) throws(SwiftletError) -> GenerationStream {
        try refuseTools(options)
        return try generator().submit(prompt: prompt, options: options,
                                    output: GenerationOutput(grammar: try matcher(for: options)))
    }

    /// Generates a reply to `messages` as JSON following `schema`, and decodes it into `T`.
    ///
    /// ```swift
    /// struct Title: Decodable { var title: String }
    /// let schema = try JSONValue(parsing: #"""
    ///     {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    ///     """#)
    /// let t = try await model.respond(Title.self, to: messages, schema: schema)
    /// ```
    public func respond<T: Decodable>(
        _ type: T.Type, to messages: [ChatMessage], schema: JSONValue, options: GenerationOptions = GenerationOptions()
    ) async throws(SwiftletError) -> T {
        var options = options
        options.jsonSchema = schema
        options.grammar = nil
        var text = ""
        var finish = FinishReason.stop
        for try await event in try chat(messages, options: options) {
            if case .text(let delta) = event { text += delta }
            if case .finished(let s) = event { finish = s.finishReason }
        }
        guard finish == .stop else {
            throw SwiftletError.invalidOutput("the answer ended (\(finish.rawValue)) before its JSON was complete")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw SwiftletError.invalidOutput("the answer does not decode as \(T.self): \(error)")
        }
    }

    /// How tool calls are constrained for this request (nil when no tools are offered).
    private func toolPlan(_ offered: [ToolDefinition], syntax: ChatOutputSyntax,
                          options: GenerationOptions) throws(SwiftletError) -> ToolCallPlan? {
        guard !offered.isEmpty else { return nil }
        do {
            return try ToolCallPlan.make(syntax: syntax, tools: offered, choice: options.toolChoice,
                                         parallel: options.parallelToolCalls)
        } catch {
            throw SwiftletError.invalidOption("tools: \(error)")
        }
    }

    /// The scheduler, or ``SwiftletError/embeddingModel(_:)`` for a model that only computes embeddings.
    private func generator() throws(SwiftletError) -> Scheduler {
        guard let scheduler else { throw .embeddingModel(id) }
        return scheduler
    }

    private func refuseTools(_ options: GenerationOptions) throws(SwiftletError) {
        guard options.tools.isEmpty || options.toolChoice == .none else {
            throw SwiftletError.invalidOption("tools need a chat (a chat template), not a raw completion")
        }
    }

    /// The matcher for the grammar or JSON schema `options` ask for, if any.
    private func matcher(for options: GenerationOptions) throws(SwiftletError) -> GrammarMatcher? {
        if options.grammar != nil, options.jsonSchema != nil {
            throw SwiftletError.invalidOption("give a grammar or a JSON schema, not both")
        }
        if let gbnf = options.grammar { return try matcher(gbnf, triggers: []) }
        guard let schema = options.jsonSchema else { return nil }
        let gbnf: String
        do { gbnf = try JSONSchemaGrammar.gbnf(for: schema) } catch {
            throw SwiftletError.invalidOption("JSON schema: \(error)")
        }
        return try matcher(gbnf, triggers: [])
    }

    private func matcher(_ gbnf: String, triggers: [GrammarTrigger]) throws(SwiftletError) -> GrammarMatcher {
        do {
            let grammar = try Grammar(gbnf, tokenizer: tokenizer)
            let vocabulary = grammarTokens.withLock { cached in
                if let cached { return cached }
                let made = GrammarVocabulary(tokenizer: tokenizer, endOfGeneration: endOfGenerationIDs)
                cached = made
                return made
            }
            return triggers.isEmpty ? try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
                : try GrammarMatcher(grammar: grammar, vocabulary: vocabulary, triggers: triggers)
        } catch {
            throw SwiftletError.invalidOption("grammar: \(error)")
        }
    }

    /// A conversation that keeps its history; each turn reuses the cached prefix of the previous ones.
    public func session(system: String? = nil) -> ChatSession {
        ChatSession(model: self, history: system.map { [ChatMessage(role: .system, content: $0)] } ?? [])
    }

    /// A conversation that continues `history` (a saved one, say); the same as
    /// ``ChatSession/init(model:history:)``.
    public func session(history: [ChatMessage]) -> ChatSession {
        ChatSession(model: self, history: history)
    }
}

extension Int {
    /// The sum, or `Int.max` when it overflows (memory estimates of absurd sizes).
    func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? Int.max : sum
    }
}
