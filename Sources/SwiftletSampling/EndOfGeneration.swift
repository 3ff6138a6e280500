/// Which tokens end a generation, found as llama.cpp finds them: the ids the metadata declares (EOS, EOT,
/// EOM) plus every vocabulary token whose text is a known end-of-turn or end-of-text marker. Gemma 3's
/// file declares no EOT id, yet `<end_of_turn>` must stop it.
public enum EndOfGeneration {
    /// Marker texts that end a turn in the chat formats in common use.
    public static let markerTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
        "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>", "<｜end▁of▁sentence｜>",
        "<|END_OF_TURN_TOKEN|>",
    ]

    /// The end-of-generation ids of a vocabulary whose token texts are `tokens`, given the ids its
    /// metadata declares.
    public static func tokenIDs(tokens: [String], declared: [Int?]) -> Set<Int> {
        var ids = Set(declared.compactMap { $0 }.filter { $0 >= 0 && $0 < tokens.count })
        for (id, text) in tokens.enumerated() where markerTexts.contains(text) {
            ids.insert(id)
        }
        return ids
    }
}
