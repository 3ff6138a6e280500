import Foundation
import Testing
import SwiftletKernels

struct LayerNormTests {
    /// Zero mean and unit variance before the affine part, then × weight + bias, against a double-precision
    /// computation; `out` may alias the input.
    @Test func normalisesThenScalesAndShifts() {
        let n = 384
        let x = (0..<n).map { Float(sin(Double($0) * 0.37) * 3 + 0.5) }
        let w = (0..<n).map { Float(1 + Double($0 % 7) * 0.1) }
        let b = (0..<n).map { Float(Double($0 % 5) * 0.01 - 0.02) }
        var out = [Float](repeating: 0, count: n)
        layerNorm(x, weight: w, bias: b, out: &out, count: n, epsilon: 1e-12)
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        for i in 0..<n {
            let expected = (Double(x[i]) - mean) / variance.squareRoot() * Double(w[i]) + Double(b[i])
            #expect(abs(Double(out[i]) - expected) < 1e-5)
        }
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { p in
            layerNorm(p.baseAddress!, weight: w, bias: b, out: p.baseAddress!, count: n, epsilon: 1e-12)
        }
        #expect(inPlace == out)
        // Without weight and bias: the plain normalisation; a constant row stays finite (ε keeps it).
        var plain = [Float](repeating: 0, count: 4)
        layerNorm([2, 2, 2, 2], weight: nil, bias: nil, out: &plain, count: 4, epsilon: 1e-5)
        #expect(plain == [0, 0, 0, 0])
    }
}
