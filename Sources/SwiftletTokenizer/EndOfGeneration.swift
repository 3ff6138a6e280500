/// Which tokens end a generation, found as llama.cpp finds them (llama-vocab.cpp, `special_eog_ids`): the
/// ids the metadata declares (EOS, EOT, EOM) plus every vocabulary token whose text is a known end-of-turn
/// or end-of-text marker: Llama 3's `<|eot_id|>` and `<|eom_id|>`, Qwen's `<|im_end|>`, Phi's `<|end|>`,
/// Gemma's `<end_of_turn>` (Gemma 3's file declares no EOT id, yet it must stop there).
public enum EndOfGeneration {
    /// The marker texts llama.cpp b11312 treats as end of generation.
    public static let markerTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>",
    ]

    /// The end-of-generation ids of a vocabulary whose token texts are `tokens`, given the ids its
    /// metadata declares.
    public static func tokenIDs(tokens: [String], declared: [Int?]) -> Set<Int> {
        var markers: [String: Int] = [:]
        for (id, text) in tokens.enumerated() where markerTexts.contains(text) { markers[text] = id }
        // llama.cpp's two exceptions: formats whose `<|end|>` or `</s>` closes something other than the
        // turn (gpt-oss's harmony format, a tool response) keep generating through it.
        if markers["<|end|>"] != nil,
           markers["<|return|>"] != nil && markers["<|call|>"] != nil || markers["<|calls|>"] != nil && markers["<|flush|>"] != nil {
            markers["<|end|>"] = nil
        }
        if markers["</s>"] != nil, markers["<|tool_response>"] != nil || tokens.contains("<|plamo:eos|>") {
            markers["</s>"] = nil
        }
        var ids = Set(markers.values)
        ids.formUnion(declared.compactMap { $0 }.filter { $0 >= 0 && $0 < tokens.count })
        return ids
    }
}
