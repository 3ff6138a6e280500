import SwiftletModel

/// The embeddings of a batch of inputs, with the tokens each took (for usage accounting).
public struct EmbeddingResult: Sendable, Equatable {
    /// One unit-length vector of ``Model/embeddingLength`` floats per input, in input order.
    public var embeddings: [[Float]]
    /// The tokens each input was evaluated as (after truncation, special tokens included).
    public var tokenCounts: [Int]
    /// The tokens of all the inputs.
    public var totalTokens: Int { tokenCounts.reduce(0, +) }

    public init(embeddings: [[Float]], tokenCounts: [Int]) {
        self.embeddings = embeddings
        self.tokenCounts = tokenCounts
    }
}

extension Model {
    /// Whether the model computes embeddings (an encoder with a pooling type, such as all-MiniLM-L6-v2)
    /// rather than generating text. Chat and completion on it throw ``SwiftletError/embeddingModel(_:)``;
    /// embeddings of a text-generating model throw ``SwiftletError/notEmbeddingModel(_:)`` (no
    /// last-token or mean pooling of a decoder is offered).
    public var isEmbeddingModel: Bool { network.isEncoder }

    /// The length of each embedding vector (the model's hidden size).
    public var embeddingLength: Int { network.embeddingSize }

    /// The embedding of each text: tokenized as the model's tokenizer says (BERT: `[CLS] … [SEP]`; a
    /// special token's name written in the text stays text), the
    /// encoder's pooled state, L2-normalised. Each input is evaluated on its own, so a vector does not
    /// depend on the other inputs.
    ///
    /// ```swift
    /// let model = try await Model.load("all-MiniLM-L6-v2-f16.gguf")
    /// let vectors = try await model.embed(["a cat", "a dog"])    // two vectors of 384 floats
    /// ```
    /// Throws ``SwiftletError/inputTooLong(index:tokens:limit:)`` for an input longer than
    /// ``contextLength`` unless `truncate`, which keeps its first tokens (and its final separator).
    public func embed(_ texts: [String], truncate: Bool = false) async throws(SwiftletError) -> [[Float]] {
        try await embeddings(texts, truncate: truncate).embeddings
    }

    /// ``embed(_:truncate:)`` with the tokens each input took.
    public func embeddings(_ texts: [String], truncate: Bool = false) async throws(SwiftletError) -> EmbeddingResult {
        guard isEmbeddingModel else { throw .notEmbeddingModel(id) }
        // Tokenizing many long texts takes CPU time: off the caller's executor, like the encoding.
        let tokenizer = self.tokenizer
        let tokens = await Task.detached(priority: .userInitiated) {
            texts.map { tokenizer.encode($0, parseSpecial: false) }
        }.value
        return try await embeddings(tokens: tokens, truncate: truncate)
    }

    /// The embeddings of already tokenized inputs (used as given: no `[CLS]`/`[SEP]` is added), off the
    /// caller's executor.
    public func embeddings(tokens inputs: [[Int]], truncate: Bool = false) async throws(SwiftletError)
        -> EmbeddingResult {
        guard isEmbeddingModel else { throw .notEmbeddingModel(id) }
        let limit = contextLength
        var prepared: [[Int]] = []
        for (i, input) in inputs.enumerated() {
            guard !input.isEmpty else { throw .emptyInput(index: i) }
            if input.count <= limit { prepared.append(input); continue }
            guard truncate else { throw .inputTooLong(index: i, tokens: input.count, limit: limit) }
            // Keep the separator the tokenizer ends an input with, as the model was trained to see one.
            let end = tokenizer.separatorID ?? (tokenizer.addEOS ? tokenizer.eosID : nil)
            if let last = input.last, last == end {
                prepared.append(Array(input.prefix(limit - 1)) + [last])
            } else {
                prepared.append(Array(input.prefix(limit)))
            }
        }
        let network = self.network
        let ready = prepared
        let vectors = try await Task.detached(priority: .userInitiated) {
            Result { () throws(SwiftletError) in
                do throws(ModelError) { return try network.embed(batch: ready) } catch { throw SwiftletError(error) }
            }
        }.value.get()
        return EmbeddingResult(embeddings: vectors, tokenCounts: prepared.map(\.count))
    }
}
