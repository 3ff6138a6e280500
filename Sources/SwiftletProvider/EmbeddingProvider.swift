import Foundation
import Swiftlet

extension ChatProvider {
    /// Most inputs one embeddings request may carry (OpenAI's limit).
    public static let maximumEmbeddingInputs = 2048

    /// Answers an OpenAI `POST /v1/embeddings` body with the response JSON: every input embedded on its own
    /// by the model (which must be an embedding model), in order, as floats or base64.
    ///
    /// Errors are 400s naming the parameter: an empty input, more inputs than
    /// ``maximumEmbeddingInputs``, a token id outside the vocabulary, an input longer than the model takes
    /// (its limit named; `"truncate": true` cuts it instead), `dimensions` other than the model's, an unknown `encoding_format`, a model that is
    /// not an embedding model; 404 for a model name other than ``modelID`` when ``requiresModelID``.
    public func embeddings(body: Data) async throws(OpenAIError) -> Data {
        let request: EmbeddingRequest = try Self.decode(body)
        if requiresModelID, let name = request.model, name != modelID {
            throw Self.map(ModelRegistryError.unknownModel(name, available: [modelID]))
        }
        guard model.isEmbeddingModel else { throw Self.map(SwiftletError.notEmbeddingModel(modelID)) }
        let format = request.encodingFormat ?? "float"
        guard format == "float" || format == "base64" else {
            throw .invalidRequest("Invalid value for 'encoding_format': '\(format)'; expected 'float' or 'base64'.",
                                  param: "encoding_format")
        }
        if let d = request.dimensions, d != model.embeddingLength {
            throw .invalidRequest("This model's embeddings have \(model.embeddingLength) dimensions; "
                                  + "'dimensions' \(d) cannot be given.", param: "dimensions")
        }
        guard request.input.count > 0 else {
            throw .invalidRequest("'input' must not be empty.", param: "input")
        }
        guard request.input.count <= Self.maximumEmbeddingInputs else {
            throw .invalidRequest("'input' has \(request.input.count) items, more than the maximum of "
                                  + "\(Self.maximumEmbeddingInputs).", param: "input")
        }
        let result: EmbeddingResult
        do {
            switch request.input {
            case .texts(let texts):
                for (i, text) in texts.enumerated() {
                    guard !text.isEmpty else { throw OpenAIError.invalidRequest("input \(i) is empty.", param: "input") }
                    if request.truncate != true { try checkFits(textBytes: text.utf8.count, param: "input") }
                }
                result = try await model.embeddings(texts, truncate: request.truncate == true)
            case .tokens(let lists):
                let vocabulary = model.tokenizer.vocabularySize
                for (i, ids) in lists.enumerated() {
                    if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
                        throw OpenAIError.invalidRequest("input \(i) has token id \(bad), outside the vocabulary "
                                                         + "(0..<\(vocabulary)).", param: "input")
                    }
                }
                result = try await model.embeddings(tokens: lists, truncate: request.truncate == true)
            }
        } catch {
            throw Self.map(error)
        }
        let items = result.embeddings.enumerated().map { i, v in
            EmbeddingResponse.Item(index: i, embedding: format == "base64" ? .base64(EmbeddingResponse.base64(v))
                                                                           : .floats(v))
        }
        return Self.json(EmbeddingResponse(data: items, model: modelID,
                                           usage: .init(promptTokens: result.totalTokens,
                                                        totalTokens: result.totalTokens)))
    }
}
