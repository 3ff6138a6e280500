import SwiftletKernels

extension Runtime {
    /// Self-attention of one input over itself, every token seeing every other (no causal mask, no cache:
    /// llama.cpp's `build_attn` with `build_attn_inp_no_cache` for a non-causal model): for each head,
    /// softmax(scale · q·kᵀ) · v from ws.q, ws.k, ws.v (n rows each) into ws.att. Heads run in parallel;
    /// each output depends only on the input's own rows.
    func attendBidirectional(ws: Workspace, tokens n: Int, scale: Float) {
        let c = config, hd = c.keyLength, vd = c.valueLength
        let qWidth = c.headCount * hd, outWidth = c.headCount * vd
        let group = c.headCount / c.headCountKV
        let q = ws.q, k = ws.k, v = ws.v, att = ws.att
        pool.parallelFor(c.headCount) { h in
            let kv = h / group
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, n)) { buffer in
                let scores = buffer.baseAddress!
                for i in 0..<n {
                    let qi = q + i * qWidth + h * hd
                    for j in 0..<n { scores[j] = dot(qi, k + j * c.keyWidth + kv * hd, count: hd) * scale }
                    softmaxAsGGML(scores, count: n)
                    let o = att + i * outWidth + h * vd
                    o.update(repeating: 0, count: vd)
                    for j in 0..<n {
                        let p = scores[j], vj = v + j * c.valueWidth + kv * vd
                        for d in 0..<vd { o[d] += p * vj[d] }
                    }
                }
            }
        }
        dump("kqv_out", nil, att, n * outWidth)
    }

    /// LayerNorm of `rows` rows of x into out (which may be x), with the norm's weight and bias.
    func layerNormRows(_ x: UnsafePointer<Float>, _ norm: LayerNormWeights, _ out: UnsafeMutablePointer<Float>,
                       rows: Int) {
        let width = norm.weight.count
        forRows(rows) { range in
            for r in range {
                layerNorm(x + r * width, weight: norm.weight.pointer, bias: norm.bias?.pointer, out: out + r * width,
                          count: width, epsilon: config.layerNormEpsilon)
            }
        }
    }
}

/// A LayerNorm's scale and (optional) shift.
struct LayerNormWeights: Sendable {
    let weight: Vector
    let bias: Vector?
}

extension TensorBinder {
    /// `{name}.weight` and `{name}.bias`, both required.
    func layerNorm(_ name: String, count: Int) throws(ModelError) -> LayerNormWeights {
        LayerNormWeights(weight: try vector(name + ".weight", count: count), bias: try vector(name + ".bias", count: count))
    }
}
