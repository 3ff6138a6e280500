import SwiftletKernels

extension Runtime {
    /// A mixture-of-experts feed-forward block on the first `rows` rows of ws.xb (already normed), into
    /// ws.xb2 (rows, dim), as llama.cpp's `build_moe_ffn` forms it with softmax gating and normalised
    /// weights (Qwen3-MoE; ``ModelConfig/expertWeightsNormalized``): router logits, softmax over the experts, the `expertUsedCount`
    /// most probable experts (in descending order), their probabilities divided by their sum where the
    /// architecture normalises them (the sum clamped below at 2⁻¹⁴), each chosen expert's down · (silu(gate · x) ⊙ (up · x)) times its weight, and the
    /// weighted outputs added in the order chosen.
    ///
    /// Each expert's products run over the tokens routed to it together, one matrix-vector product per
    /// token, since ggml's `mul_mat_id` forms every output with its vec_dot (no batched tiles).
    func mixtureOfExperts(layer l: Int, _ w: ExpertWeights, ws: Workspace, rows m: Int) {
        let c = config, dim = c.embeddingLength, experts = c.expertCount, k = c.expertUsedCount
        let ff = w.gate[0].rows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * experts) { probabilities in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: m * k) { chosen in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * k) { weights in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * k * dim) { outputs in
            let probs = probabilities.baseAddress!
            linear(w.router, ws.xb, probs, tokens: m)                       // (m, experts)
            dump("ffn_moe_logits", l, probs, m * experts)
            for t in 0..<m {
                let p = probs + t * experts
                softmaxAsGGML(p, count: experts)
                // ggml_argsort descending, then the first k; ties are left in index order.
                let top = (0..<experts).sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(k)
                var sum = 0.0
                for (slot, e) in top.enumerated() {
                    chosen[t * k + slot] = e
                    weights[t * k + slot] = p[e]
                    sum += Double(p[e])
                }
                if c.expertWeightsNormalized {
                    let total = max(Float(sum), 6.103515625e-5)
                    for slot in 0..<k { weights[t * k + slot] /= total }
                }
            }
            // Per expert, every (token, slot) routed to it: gate and up, the activation, down.
            let out = outputs.baseAddress!
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * ff) { hidden in
                let gate = hidden.baseAddress!, up = gate + ff
                for e in 0..<experts {
                    for route in 0..<(m * k) where chosen[route] == e {
                        let x = ws.xb + (route / k) * dim
                        matvec(w.gate[e], x, gate, pool: pool)
                        matvec(w.up[e], x, up, pool: pool)
                        swiglu(gate: gate, up: up, out: gate, count: ff)
                        matvec(w.down[e], gate, out + route * dim, pool: pool)
                    }
                }
            }
            // ggml_mul by the weights, then a left fold of ggml_add over the slots.
            for t in 0..<m {
                let y = ws.xb2 + t * dim
                for slot in 0..<k {
                    let o = out + (t * k + slot) * dim, weight = weights[t * k + slot]
                    if slot == 0 {
                        for i in 0..<dim { y[i] = o[i] * weight }
                    } else {
                        for i in 0..<dim { y[i] += o[i] * weight }
                    }
                }
            }
            dump("ffn_moe_out", l, ws.xb2, m * dim)
        }
        }
        }
        }
    }
}
