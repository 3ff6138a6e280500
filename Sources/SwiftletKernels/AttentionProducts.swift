import Foundation

// The float steps of a long batch's attention: scores S = scale · Q·Kᵀ, then ggml's tiled online
// softmax and S·V (`ggml_compute_forward_flash_attn_ext_tiled`). Every score is one fma chain over the
// shared dimension in order, then scaled, and the outputs follow llama.cpp's tiled flash attention step
// for step, so a build gives the same numbers on every CPU, and llama.cpp's. (A BLAS library would pick
// its kernel, and so its order of additions, per CPU at run time; small quantized models amplify such
// last-bit differences through the next layer's 8-bit activations.)

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
    attendTiledRows(1, scores: scores, scoreStride: 0, p0: p0, attended: { _ in attended }, values: values, valueStride: valueStride,
                    length: length, out: out, outputStride: 0)
}

/// ``attendTiledRow(scores:p0:attended:values:valueStride:length:out:)`` for up to four query rows at
/// once (row r's scores at `scores + r·scoreStride`, its positions `attended(r)`, its output at
/// `out + r·outputStride`), each row's numbers exactly as alone. Where the four rows attend the same
/// positions of a tile (every tile before the causal diagonal), they share each value load.
public func attendTiledRows(_ rows: Int, scores: UnsafePointer<Float>, scoreStride: Int, p0: Int, attended: (Int) -> ClosedRange<Int>,
                            values: UnsafePointer<Float>, valueStride: Int, length: Int,
                            out: UnsafeMutablePointer<Float>, outputStride: Int) {
    precondition(rows >= 1 && rows <= 4)
    var maximum = SIMD4<Float>(repeating: -.infinity), sum = SIMD4<Float>(repeating: 0)
    var ranges = InlineArray<4, ClosedRange<Int>>(repeating: 0...0)
    var first = Int.max, last = Int.min
    for r in 0..<rows {
        ranges[r] = attended(r)
        first = min(first, ranges[r].lowerBound); last = max(last, ranges[r].upperBound)
        (out + r * outputStride).update(repeating: 0, count: length)
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * attentionKeyTile) { buffer in
        let weights = buffer.baseAddress!
        var tile = first / attentionKeyTile * attentionKeyTile
        while tile <= last {
            var lo = InlineArray<4, Int>(repeating: 0), hi = lo
            var live = 0, shared = rows == 4
            for r in 0..<rows {
                lo[r] = max(tile, ranges[r].lowerBound); hi[r] = min(tile + attentionKeyTile, ranges[r].upperBound + 1)
                let row = scores + r * scoreStride, o = out + r * outputStride, w = weights + attentionKeyTile * r
                // A row that sees the whole tile (every tile but the first and the diagonal) takes its
                // scores eight at a time; the maximum is the same whichever order finds it. (Compare and
                // select, one vmaxps-like step per eight; `pointwiseMax` orders NaNs lane by lane in
                // scalar code, and scores are never NaN.)
                let whole = lo[r] == tile && hi[r] == tile + attentionKeyTile
                var tileMax = -Float.infinity
                if whole {
                    var m = load8(row + (tile - p0))
                    for g in 1..<(attentionKeyTile / 8) {
                        let x = load8(row + (tile - p0 + 8 * g))
                        m = m.replacing(with: x, where: x .> m)
                    }
                    let h = m.lowHalf.replacing(with: m.highHalf, where: m.highHalf .> m.lowHalf)
                    tileMax = max(max(h[0], h[1]), max(h[2], h[3]))
                } else if lo[r] < hi[r] {
                    for j in lo[r]..<hi[r] { tileMax = max(tileMax, row[j - p0]) }
                }
                if tileMax == -.infinity { hi[r] = lo[r]; shared = false; continue }
                live += 1
                if r > 0 && (lo[r] != lo[0] || hi[r] != hi[0]) { shared = false }
                let newMax = max(maximum[r], tileMax)
                if newMax > maximum[r] {
                    let ms = expf(maximum[r] - newMax)
                    for i in 0..<length { o[i] *= ms }
                    sum[r] *= ms
                }
                maximum[r] = newMax
                var tileSum = 0.0
                for g in 0..<(attentionKeyTile / 8) {
                    var x = SIMD8<Float>(repeating: -.infinity)
                    if whole {
                        x = load8(row + (tile - p0 + 8 * g))
                    } else {
                        for l in 0..<8 where (lo[r]..<hi[r]).contains(tile + 8 * g + l) { x[l] = row[tile + 8 * g + l - p0] }
                    }
                    let e = vectorExp(x - SIMD8(repeating: newMax))
                    store8(e, w + 8 * g)
                    let t = e.highHalf + e.lowHalf
                    tileSum += Double((t[0] + t[2]) + (t[1] + t[3]))
                }
                sum[r] = Float(Double(sum[r]) + tileSum)
            }
            // Value row j of the tile (position tile + j) is row tile + j − p0 of `values`.
            if shared && live == 4 {
                accumulateFourRows(weights, values, first: tile - p0, valueStride: valueStride, lo[0] - tile..<hi[0] - tile,
                                   length: length, out, outputStride: outputStride)
            } else {
                for r in 0..<rows where lo[r] < hi[r] {
                    accumulateRow(weights + attentionKeyTile * r, values, first: tile - p0, valueStride: valueStride,
                                  lo[r] - tile..<hi[r] - tile, length: length, out + r * outputStride)
                }
            }
            tile += attentionKeyTile
        }
    }
    for r in 0..<rows {
        let inverse: Float = sum[r] == 0 ? 0 : 1 / sum[r]
        let o = out + r * outputStride
        for i in 0..<length { o[i] *= inverse }
    }
}

// The tile's Σ e·v. Every output value is one fma chain over the tile's positions in order; the chains of
// several output values (and rows) run side by side, eight at a time where they can, so that the fma's
// latency is hidden and each value vector is loaded once for the four rows.

/// Four rows' outputs (`out`, `outputStride` apart) += Σ_{j ∈ span} weights[64·r + j] · value row
/// `first + j` (`first + span.lowerBound` ≥ 0).
@inline(__always) private func accumulateFourRows(_ weights: UnsafePointer<Float>, _ values: UnsafePointer<Float>, first: Int,
                                                  valueStride: Int, _ span: Range<Int>, length: Int,
                                                  _ out: UnsafeMutablePointer<Float>, outputStride: Int) {
    let o1 = out + outputStride, o2 = o1 + outputStride, o3 = o2 + outputStride
    let w1 = weights + attentionKeyTile, w2 = w1 + attentionKeyTile, w3 = w2 + attentionKeyTile
    var i = 0
    while i + 16 <= length {
        var a0 = load8(out + i), a1 = load8(o1 + i), a2 = load8(o2 + i), a3 = load8(o3 + i)
        var b0 = load8(out + i + 8), b1 = load8(o1 + i + 8), b2 = load8(o2 + i + 8), b3 = load8(o3 + i + 8)
        for j in span {
            let row = values + ((first &+ j) &* valueStride &+ i), v = load8(row), u = load8(row + 8)
            let x0 = SIMD8(repeating: weights[j]), x1 = SIMD8(repeating: w1[j])
            a0 = multiplyAdd(x0, v, a0); b0 = multiplyAdd(x0, u, b0)
            a1 = multiplyAdd(x1, v, a1); b1 = multiplyAdd(x1, u, b1)
            let x2 = SIMD8(repeating: w2[j]), x3 = SIMD8(repeating: w3[j])
            a2 = multiplyAdd(x2, v, a2); b2 = multiplyAdd(x2, u, b2)
            a3 = multiplyAdd(x3, v, a3); b3 = multiplyAdd(x3, u, b3)
        }
        store8(a0, out + i); store8(a1, o1 + i); store8(a2, o2 + i); store8(a3, o3 + i)
        store8(b0, out + i + 8); store8(b1, o1 + i + 8); store8(b2, o2 + i + 8); store8(b3, o3 + i + 8)
        i += 16
    }
    while i + 8 <= length {
        var a0 = load8(out + i), a1 = load8(o1 + i), a2 = load8(o2 + i), a3 = load8(o3 + i)
        for j in span {
            let v = load8(values + ((first &+ j) &* valueStride &+ i))
            a0 = multiplyAdd(SIMD8(repeating: weights[j]), v, a0)
            a1 = multiplyAdd(SIMD8(repeating: w1[j]), v, a1)
            a2 = multiplyAdd(SIMD8(repeating: w2[j]), v, a2)
            a3 = multiplyAdd(SIMD8(repeating: w3[j]), v, a3)
        }
        store8(a0, out + i); store8(a1, o1 + i); store8(a2, o2 + i); store8(a3, o3 + i)
        i += 8
    }
    while i < length {
        for r in 0..<4 {
            let o = out + r &* outputStride, w = weights + r &* attentionKeyTile
            for j in span { o[i] = multiplyAdd(w[j], values[(first &+ j) &* valueStride &+ i], o[i]) }
        }
        i += 1
    }
}

/// One row's output += Σ_{j ∈ span} weights[j] · value row `first + j`, eight output vectors at a time.
@inline(__always) private func accumulateRow(_ weights: UnsafePointer<Float>, _ values: UnsafePointer<Float>, first: Int,
                                             valueStride: Int, _ span: Range<Int>, length: Int,
                                             _ out: UnsafeMutablePointer<Float>) {
    @inline(__always) func vectors(_ count: Int, at i: Int) {
        var acc = InlineArray<8, SIMD8<Float>>(repeating: .zero)
        for c in 0..<count { acc[c] = load8(out + i + 8 * c) }
        for j in span {
            let x = SIMD8(repeating: weights[j]), row = values + ((first &+ j) &* valueStride &+ i)
            for c in 0..<count { acc[c] = multiplyAdd(x, load8(row + 8 * c), acc[c]) }
        }
        for c in 0..<count { store8(acc[c], out + i + 8 * c) }
    }
    var i = 0
    while i + 64 <= length { vectors(8, at: i); i += 64 }
    if i + 32 <= length { vectors(4, at: i); i += 32 }
    while i + 8 <= length { vectors(1, at: i); i += 8 }
    while i < length {
        for j in span { out[i] = multiplyAdd(weights[j], values[(first &+ j) &* valueStride &+ i], out[i]) }
        i += 1
    }
}
