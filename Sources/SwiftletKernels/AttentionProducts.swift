// The two float matrix products of a long batch's attention: scores S = scale · Q·Kᵀ and outputs
// O = P·V. They were OpenBLAS calls; OpenBLAS picks its kernel per CPU at run time, and its AVX-512
// kernel sums in another order than its AVX2 one. Small quantized models amplify such last-bit
// differences (the next layer's 8-bit activations round differently): SmolLM2 Q4_1's perplexity moved
// from 18.39 to 18.50 between the two on one machine. Here every output is one fma chain over the
// shared dimension in order, then scaled, so a build gives the same numbers on every CPU (Q4_1:
// 18.417, where OpenBLAS gave 18.391 with its AVX2 kernel and 18.498 with its AVX-512 one).

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

/// Outputs (`rows` × `length`, row stride `outputStride`) = P·V, where P is `rows` × `positions`
/// (row stride `positions`) and value row j is the `length` floats at `values + j·valueStride`.
///
/// Four rows × sixteen columns at a time, one value load for four rows; each output is Σ_j p_j·v_j
/// summed in order of j.
public func attentionValues(_ probabilities: UnsafePointer<Float>, rows: Int, positions: Int, values: UnsafePointer<Float>,
                            valueStride: Int, length: Int, into out: UnsafeMutablePointer<Float>, outputStride: Int) {
    guard rows > 0, length > 0 else { return }
    @inline(__always) func tile(_ r0: Int, _ count: Int, _ c0: Int, _ vectors: Int) {
        var acc = InlineArray<8, SIMD8<Float>>(repeating: .zero)
        for j in 0..<positions {
            let v = values + (j &* valueStride &+ c0)
            let v0 = load8(v), v1 = vectors == 2 ? load8(v + 8) : .zero
            for r in 0..<count {
                let p = SIMD8<Float>(repeating: probabilities[(r0 &+ r) &* positions &+ j])
                acc[2 &* r] = multiplyAdd(p, v0, acc[2 &* r])
                if vectors == 2 { acc[2 &* r &+ 1] = multiplyAdd(p, v1, acc[2 &* r &+ 1]) }
            }
        }
        for r in 0..<count {
            let o = out + ((r0 &+ r) &* outputStride &+ c0)
            store8(acc[2 &* r], o)
            if vectors == 2 { store8(acc[2 &* r &+ 1], o + 8) }
        }
    }
    var r = 0
    while r < rows {
        let count = min(4, rows &- r)
        var c = 0
        while c + 16 <= length {
            if count == 4 { tile(r, 4, c, 2) } else { tile(r, count, c, 2) }
            c += 16
        }
        if c + 8 <= length { tile(r, count, c, 1); c += 8 }
        // Columns past the last multiple of eight: the same ordered sums, one at a time.
        for rr in r..<(r + count) {
            for cc in c..<length {
                var sum: Float = 0
                for j in 0..<positions { sum = multiplyAdd(probabilities[rr &* positions &+ j], values[j &* valueStride &+ cc], sum) }
                out[rr &* outputStride &+ cc] = sum
            }
        }
        r += count
    }
}
