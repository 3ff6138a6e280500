import Foundation

/// Layer normalisation of one row, as ggml's `ggml_compute_forward_norm_f32` followed by the graph's
/// `ggml_mul` and `ggml_add` (llama.cpp's `build_norm` with LLM_NORM): the mean and the sum of squared
/// deviations accumulated in double, y = (x − mean) / √(variance + ε), then × `weight` + `bias` when given.
/// `out` may be `x`.
public func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                      out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float) {
    guard count > 0 else { return }
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i]) }
    let mean = Float(sum / Double(count))
    var squares = 0.0
    for i in 0..<count {
        let d = x[i] - mean
        out[i] = d
        squares += Double(d * d)
    }
    let variance = Float(squares / Double(count))
    let scale = 1 / (variance + epsilon).squareRoot()
    for i in 0..<count { out[i] *= scale }
    if let weight { for i in 0..<count { out[i] *= weight[i] } }
    if let bias { for i in 0..<count { out[i] += bias[i] } }
}
