/// Sampler settings, with llama.cpp's meanings and defaults.
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits before sampling; 0 means greedy (always the most likely token).
    public var temperature: Float = 0.8
    /// Keep only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probabilities sum to at least `topP`; 1 is off.
    public var topP: Float = 0.95
    /// Drop tokens whose probability is below `minP` × the most likely token's; 0 is off.
    public var minP: Float = 0.05
    /// Locally typical sampling threshold; 1 is off.
    public var typicalP: Float = 1
    /// Divides positive (multiplies negative) logits of tokens seen in the last `penaltyLastN`; 1 is off.
    public var repeatPenalty: Float = 1
    /// Subtracted once from the logit of every token seen in the window (OpenAI's presence_penalty).
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence in the window (OpenAI's frequency_penalty).
    public var frequencyPenalty: Float = 0
    /// How many of the latest tokens the penalties look at; 0 disables them, -1 means all.
    public var penaltyLastN: Int = 64
    /// Added to the logit of each listed token id (OpenAI's logit_bias); -infinity bans a token.
    public var logitBias: [Int: Float] = [:]
    /// Seed of the random generator: the same seed and settings give the same tokens.
    public var seed: UInt64 = 0x5EED_1E7

    public init() {}

    /// Greedy decoding: the most likely token every time.
    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }

    /// Checks every value is in range.
    public func validate() throws(SamplingError) {
        func check(_ ok: Bool, _ message: String) throws(SamplingError) {
            if !ok { throw .invalidParameter(message) }
        }
        try check(temperature.isFinite && temperature >= 0, "temperature must be ≥ 0, got \(temperature)")
        try check(topK >= 0, "top_k must be ≥ 0, got \(topK)")
        try check(topP.isFinite && topP > 0 && topP <= 1, "top_p must be in (0, 1], got \(topP)")
        try check(minP.isFinite && minP >= 0 && minP <= 1, "min_p must be in [0, 1], got \(minP)")
        try check(typicalP.isFinite && typicalP > 0 && typicalP <= 1, "typical_p must be in (0, 1], got \(typicalP)")
        try check(repeatPenalty.isFinite && repeatPenalty > 0, "repeat_penalty must be > 0, got \(repeatPenalty)")
        try check(presencePenalty.isFinite && abs(presencePenalty) <= 2, "presence_penalty must be in [-2, 2], got \(presencePenalty)")
        try check(frequencyPenalty.isFinite && abs(frequencyPenalty) <= 2, "frequency_penalty must be in [-2, 2], got \(frequencyPenalty)")
        try check(penaltyLastN >= -1, "penalty window must be ≥ -1, got \(penaltyLastN)")
        for (token, bias) in logitBias {
            try check(token >= 0, "logit_bias token id must be ≥ 0, got \(token)")
            try check(!bias.isNaN && bias <= 100, "logit_bias for token \(token) must be ≤ 100, got \(bias)")
        }
    }
}

/// A sampler setting out of range.
public enum SamplingError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidParameter(String)
    public var description: String {
        switch self {
        case .invalidParameter(let m): m
        }
    }
}
