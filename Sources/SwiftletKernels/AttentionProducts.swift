import Foundation

// The float steps of a long batch's attention: scores S = scale · Q·Kᵀ, then ggml's tiled online
// softmax and S·V. They were OpenBLAS calls; OpenBLAS picks its kernel per CPU at run time, and its
// AVX-512 kernel sums in another order than its AVX2 one. Small quantized models amplify such last-bit
// differences (the next layer's 8-bit activations round differently): SmolLM2 Q4_1's perplexity moved
// from 18.39 to 18.50 between the two on one machine. Here every score is one fma chain over the
// shared dimension in order, then scaled, and the outputs follow llama.cpp's tiled flash attention step
// for step, so a build gives the same numbers on every CPU, and llama.cpp's.

/// a·b + c, fused where the build has FMA (a portable build without it would call `fmaf` per lane).
@inline(__always) private func multiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    #if SWIFTLET_AVX2 && arch(x86_64)
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

@inline(__always) private func multiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    #if SWIFTLET_AVX2 && arch(x86_64)
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Floats needed by ``packKeyPanels(keys:keyStride:positions:length:into:)`` for `positions` keys of
/// `length` values: whole panels of eight keys.
public func keyPanelCount(positions: Int, length: Int) -> Int { (positions + 7) / 8 * 8 * length }

/// Copies `positions` keys (key j is the `length` floats at `keys + j·keyStride`) into panels of eight
/// keys, value-major (panel p holds keys 8p…8p+7 as `length` rows of eight floats; keys past the end
/// are zeros), so that one vector load in ``attentionScores(q:queryStride:keyPanels:rows:positions:length:scale:into:)``
/// gives one value of eight keys. Pack once per KV head and layer; every query chunk reads the panels.
public func packKeyPanels(keys: UnsafePointer<Float>, keyStride: Int, positions: Int, length: Int, into panels: UnsafeMutablePointer<Float>) {
    for panel in 0..<(positions + 7) / 8 {
        let out = panels + panel &* length &* 8
        for k in 0..<8 {
            let j = panel &* 8 &+ k
            if j < positions {
                let key = keys + j &* keyStride
                for i in 0..<length { out[i &* 8 &+ k] = key[i] }
            } else {
                for i in 0..<length { out[i &* 8 &+ k] = 0 }
            }
        }
    }
}

/// Scores (`rows` × `positions`, row stride `positions`) = `scale` · Q·Kᵀ, where query row r is the
/// `length` floats at `q + r·queryStride` and the keys are packed by
/// ``packKeyPanels(keys:keyStride:positions:length:into:)`` (`keyPanels` at the panel of the first one).
///
/// Tiles of four query rows × sixteen keys: per value, two panel loads meet four broadcast query values
/// in eight accumulators. Each score is Σ_i q_i·k_i summed in order of i, then scaled.
public func attentionScores(q: UnsafePointer<Float>, queryStride: Int, keyPanels: UnsafePointer<Float>,
                            rows: Int, positions: Int, length: Int, scale: Float, into scores: UnsafeMutablePointer<Float>) {
    guard rows > 0, positions > 0, length > 0 else { return }
    let panels = (positions + 7) / 8, s = SIMD8<Float>(repeating: scale)
    @inline(__always) func tile(_ r0: Int, _ count: Int, _ panel: Int, _ pair: Bool) {
        let k0 = keyPanels + panel &* length &* 8, k1 = k0 + length &* 8
        var acc = InlineArray<8, SIMD8<Float>>(repeating: .zero)
        for i in 0..<length {
            let a = load8(k0 + i &* 8), b = pair ? load8(k1 + i &* 8) : .zero
            for r in 0..<count {
                let qv = SIMD8<Float>(repeating: q[(r0 &+ r) &* queryStride &+ i])
                acc[2 &* r] = multiplyAdd(qv, a, acc[2 &* r])
                if pair { acc[2 &* r &+ 1] = multiplyAdd(qv, b, acc[2 &* r &+ 1]) }
            }
        }
        for half in 0..<(pair ? 2 : 1) {
            let j0 = (panel &+ half) &* 8, valid = min(8, positions &- j0)
            for r in 0..<count {
                let row = scores + ((r0 &+ r) &* positions &+ j0), v = acc[2 &* r &+ half] * s
                if valid == 8 { store8(v, row) } else { for k in 0..<valid { row[k] = v[k] } }
            }
        }
    }
    var r = 0
    while r < rows {
        let count = min(4, rows &- r)
        var panel = 0
        while panel + 2 <= panels {
            if count == 4 { tile(r, 4, panel, true) } else { tile(r, count, panel, true) }
            panel += 2
        }
        if panel < panels { tile(r, count, panel, false) }
        r += count
    }
}

/// Keys per tile of ggml's tiled flash attention (GGML_FA_TILE_KV).
public let attentionKeyTile = 64

/// One query row's attention output from its scores, the way ggml's tiled flash attention
/// (`ggml_compute_forward_flash_attn_ext_tiled`, batches of 64 tokens or more) forms it: the attended
/// positions in tiles of 64 aligned to position 0; per tile, a new maximum rescales the running sum and
/// output (by e^(old − new), `expf`), e^(s − max) of the tile's scores comes from ggml's vectorized
/// e^x (``vectorExp(_:)``) eight at a time, each eight summed as ggml's AVX2 `ggml_vec_soft_max_f32`
/// does into a double added to the running float sum, and the output gains Σ e·v over the tile's
/// positions in order, by fma; at the end it is multiplied by 1/sum.
///
/// `scores[j]` is the (already scaled) score of position `p0 + j`, whose value row is the `length`
/// floats at `values + j·valueStride`; `attended` are the positions the row sees.
public func attendTiledRow(scores: UnsafePointer<Float>, p0: Int, attended: ClosedRange<Int>, values: UnsafePointer<Float>,
                           valueStride: Int, length: Int, out: UnsafeMutablePointer<Float>) {
    out.update(repeating: 0, count: length)
    var maximum = -Float.infinity, sum: Float = 0
    var weights = InlineArray<64, Float>(repeating: 0)
    var tile = attended.lowerBound / attentionKeyTile * attentionKeyTile
    while tile <= attended.upperBound {
        let lo = max(tile, attended.lowerBound), hi = min(tile + attentionKeyTile, attended.upperBound + 1)
        var tileMax = -Float.infinity
        for j in lo..<hi { tileMax = max(tileMax, scores[j - p0]) }
        if tileMax != -.infinity {
            let newMax = max(maximum, tileMax)
            if newMax > maximum {
                let ms = expf(maximum - newMax)
                for i in 0..<length { out[i] *= ms }
                sum *= ms
            }
            maximum = newMax
            var tileSum = 0.0
            for g in 0..<(attentionKeyTile / 8) {
                var x = SIMD8<Float>(repeating: -.infinity)
                for l in 0..<8 where (lo..<hi).contains(tile + 8 * g + l) { x[l] = scores[tile + 8 * g + l - p0] }
                let e = vectorExp(x - SIMD8(repeating: newMax))
                for l in 0..<8 { weights[8 * g + l] = e[l] }
                let t = e.highHalf + e.lowHalf
                tileSum += Double((t[0] + t[2]) + (t[1] + t[3]))
            }
            sum = Float(Double(sum) + tileSum)
            var i = 0
            while i + 8 <= length {
                var acc = load8(out + i)
                for j in lo..<hi { acc = multiplyAdd(SIMD8(repeating: weights[j - tile]), load8(values + ((j - p0) &* valueStride &+ i)), acc) }
                store8(acc, out + i)
                i += 8
            }
            while i < length {
                for j in lo..<hi { out[i] = multiplyAdd(weights[j - tile], values[(j - p0) &* valueStride &+ i], out[i]) }
                i += 1
            }
        }
        tile += attentionKeyTile
    }
    let inverse: Float = sum == 0 ? 0 : 1 / sum
    for i in 0..<length { out[i] *= inverse }
}
