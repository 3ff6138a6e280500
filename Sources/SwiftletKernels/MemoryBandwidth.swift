import Foundation

/// The host's memory read bandwidth in bytes per second: the best of `repetitions` passes that read a
/// `bytes`-long buffer (well past the last-level cache) once, split over the pool's threads in contiguous
/// pieces, 64 bytes per step.
///
/// Decoding one token reads every weight once, so bandwidth ÷ bytes read per token is the speed limit of
/// a single stream on files past the cache; `swiftlet bench --bandwidth` prints it for comparison.
public func memoryReadBandwidth(bytes: Int = 1 << 30, repetitions: Int = 5, pool: ThreadPool) -> Double {
    let words = max(1, bytes / MemoryLayout<SIMD16<UInt32>>.stride)
    let buffer = UnsafeMutablePointer<SIMD16<UInt32>>.allocate(capacity: words)
    defer { buffer.deallocate() }
    // Written once, so every page is backed by memory before the timed passes.
    for i in 0..<words { buffer[i] = SIMD16(repeating: UInt32(truncatingIfNeeded: i)) }
    let pieces = pool.threadCount
    let sums = UnsafeMutablePointer<SIMD16<UInt32>>.allocate(capacity: pieces)
    defer { sums.deallocate() }
    var best = Double.infinity
    for _ in 0..<max(1, repetitions) {
        let start = DispatchTime.now().uptimeNanoseconds
        pool.parallelFor(pieces) { piece in
            let lo = words * piece / pieces, hi = words * (piece + 1) / pieces
            // Four independent accumulators, so the loads are not serialized behind one dependency chain.
            var a = SIMD16<UInt32>(), b = a, c = a, d = a
            var i = lo
            while i + 4 <= hi {
                a ^= buffer[i]; b ^= buffer[i + 1]; c ^= buffer[i + 2]; d ^= buffer[i + 3]
                i += 4
            }
            while i < hi { a ^= buffer[i]; i += 1 }
            // Stored, so the reads cannot be optimized away.
            sums[piece] = a ^ b ^ c ^ d
        }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return Double(words * MemoryLayout<SIMD16<UInt32>>.stride) / best
}
