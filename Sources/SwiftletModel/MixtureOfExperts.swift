import SwiftletKernels

extension Runtime {
    /// A mixture-of-experts feed-forward block on the first `rows` rows of ws.xb (already normed), into
    /// ws.xb2 (rows, dim), as llama.cpp's `build_moe_ffn` forms it with softmax gating (Qwen3-MoE):
    /// router logits, a softmax over the experts, the `expertUsedCount` most probable experts in
    /// descending order, their probabilities divided by their sum where the architecture normalises them
    /// (``ModelConfig/expertWeightsNormalized``; the sum clamped below at 2⁻¹⁴), each chosen expert's
    /// down · (silu(gate · x) ⊙ (up · x)) times its weight, and the weighted outputs added in the order
    /// chosen.
    ///
    /// Each expert's products run once over all the tokens routed to it (a prompt's tokens share the
    /// expert's weight loads), each output summed in the order `mul_mat_id` gives it
    /// (``ProductOrder/expertProduct``).
    func mixtureOfExperts(layer l: Int, _ w: ExpertWeights, ws: Workspace, rows m: Int) {
        let c = config, dim = c.embeddingLength, k = c.expertUsedCount, ff = w.gate[0].rows
        let routes = route(layer: l, w.router, ws: ws, rows: m)
        // A decoding step of several sequences keeps each token's sums as it would have alone.
        let order: ProductOrder = ws.order == .tokenwise ? .tokenwise : .expertProduct

        let outputs = ws.experts.outputs, x = ws.experts.input, gate = ws.experts.gate, up = ws.experts.up
        // The row of `outputs` that holds each route's expert output.
        var outputRow = Array(0..<(m * k))
        if m == 1 {
            // One token: every chosen expert takes it, so their gate and up products run as one job on the
            // pool, and their down products as another (each product summed as it is alone). Route = slot.
            let chosen = routes.map(\.expert)
            matmul(chosen.enumerated().flatMap { slot, e in
                [(weight: w.gate[e], input: UnsafePointer(ws.xb), output: gate + slot * ff),
                 (weight: w.up[e], input: UnsafePointer(ws.xb), output: up + slot * ff)]
            }, tokens: 1, pool: pool, order: order)
            gatedActivation(swiglu, gate: gate, up: up, out: gate, rows: k, width: ff)
            matmul(chosen.enumerated().map { slot, e in
                (weight: w.down[e], input: UnsafePointer(gate + slot * ff), output: outputs + slot * dim)
            }, tokens: 1, pool: pool, order: order)
        } else {
            // Per expert, the (token, slot) routes that chose it, their rows gathered into x: gate and up,
            // the activation, down into the next rows of `outputs` (expert after expert).
            var routesOf = [[Int]](repeating: [], count: c.expertCount)
            for (route, chosen) in routes.enumerated() { routesOf[chosen.expert].append(route) }
            var next = 0
            for (e, mine) in routesOf.enumerated() where !mine.isEmpty {
                for (i, route) in mine.enumerated() {
                    (x + i * dim).update(from: ws.xb + (route / k) * dim, count: dim)
                    outputRow[route] = next + i
                }
                matmul([(w.gate[e], gate), (w.up[e], up)], x, tokens: mine.count, pool: pool, order: order)
                gatedActivation(swiglu, gate: gate, up: up, out: gate, rows: mine.count, width: ff)
                matmul([(w.down[e], outputs + next * dim)], gate, tokens: mine.count, pool: pool, order: order)
                next += mine.count
            }
        }

        // ggml_mul by the weights, then a left fold of ggml_add over the slots.
        for t in 0..<m {
            let out = ws.xb2 + t * dim
            for slot in 0..<k {
                let route = t * k + slot, weight = routes[route].weight, o = outputs + outputRow[route] * dim
                for j in 0..<dim { out[j] = slot == 0 ? o[j] * weight : out[j] + o[j] * weight }
            }
        }
        dump("ffn_moe_out", l, ws.xb2, m * dim)
    }

    /// The router: for each of `rows` tokens, its `expertUsedCount` experts (route t·k + slot) with their
    /// weights.
    private func route(layer l: Int, _ router: WeightMatrix, ws: Workspace,
                       rows m: Int) -> [(expert: Int, weight: Float)] {
        let c = config, experts = c.expertCount, k = c.expertUsedCount
        var probabilities = [Float](repeating: 0, count: m * experts)
        probabilities.withUnsafeMutableBufferPointer {
            linear(router, ws.xb, $0.baseAddress!, tokens: m, order: ws.order)
        }
        probabilities.withUnsafeBufferPointer { dump("ffn_moe_logits", l, $0.baseAddress!, m * experts) }
        var routes: [(expert: Int, weight: Float)] = []
        routes.reserveCapacity(m * k)
        for t in 0..<m {
            probabilities.withUnsafeMutableBufferPointer {
                softmaxAsGGML($0.baseAddress! + t * experts, count: experts)
            }
            let p = probabilities[(t * experts)..<((t + 1) * experts)]
            // ggml_argsort descending, then the first k; ties are left in index order.
            let top = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(k)
            var sum = 0.0
            for e in top { sum += Double(p[e]) }
            let total = max(Float(sum), 6.103515625e-5)
            for e in top {
                routes.append((e - t * experts, c.expertWeightsNormalized ? p[e] / total : p[e]))
            }
        }
        return routes
    }
}
