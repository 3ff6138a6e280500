import SwiftletKernels

extension Runtime {
    /// A mixture-of-experts feed-forward block on the first `rows` rows of ws.xb (already normed), into
    /// ws.xb2 (rows, dim), as llama.cpp's `build_moe_ffn` forms it with softmax gating and normalised
    /// weights (Qwen3-MoE; ``ModelConfig/expertWeightsNormalized``): router logits, softmax over the experts, the `expertUsedCount`
    /// most probable experts (in descending order), their probabilities divided by their sum where the
    /// architecture normalises them (the sum clamped below at 2⁻¹⁴), each chosen expert's down · (silu(gate · x) ⊙ (up · x)) times its weight, and the
    /// weighted outputs added in the order chosen.
    ///
    /// Each expert's products run once over all the tokens routed to it (a prompt's tokens share the
    /// expert's weight loads), each output summed in the order of ggml's vec_dot, as `mul_mat_id` does.
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
            // Per expert, the tokens routed to it together: gate and up, the activation, down, each
            // output in ggml_vec_dot's order (ProductOrder.vectorDot), as mul_mat_id forms it.
            let out = outputs.baseAddress!
            withUnsafeTemporaryAllocation(of: Int.self, capacity: m * k) { routesBuffer in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m * (2 * dim + 2 * ff)) { buffer in
                let routes = routesBuffer.baseAddress!
                // The routed rows x, gate and up (count, ff), and down's outputs y (count, dim).
                let x = buffer.baseAddress!, gate = x + m * dim, up = gate + m * ff, y = up + m * ff
                for e in 0..<experts {
                    var count = 0
                    for route in 0..<(m * k) where chosen[route] == e {
                        routes[count] = route
                        (x + count * dim).update(from: ws.xb + (route / k) * dim, count: dim)
                        count += 1
                    }
                    guard count > 0 else { continue }
                    matmul([(w.gate[e], gate), (w.up[e], up)], x, tokens: count, pool: pool, order: .vectorDot)
                    gatedActivation(swiglu, gate: gate, up: up, out: gate, rows: count, width: ff)
                    matmul([(w.down[e], y)], gate, tokens: count, pool: pool, order: .vectorDot)
                    for i in 0..<count { (out + routes[i] * dim).update(from: y + i * dim, count: dim) }
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
