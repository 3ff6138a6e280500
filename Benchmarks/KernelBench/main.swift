// Kernel benchmark: matvec ns/row and GB/s of weight bytes per weight type at SmolLM2's real
// shapes, on one and two threads, and matmul GFLOP/s at 512 tokens. Run with the fast-kernel flags:
//   make release-tests && .build/release/swiftlet-kernel-bench [--quick | --matmul | --pool] [--1b] [--type q4_K]
import Foundation
import SwiftletGGUF
import SwiftletKernels

let quick = CommandLine.arguments.contains("--quick")
let allTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .f16, .bf16, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
/// `--type NAME`: one weight type only.
let types = CommandLine.arguments.firstIndex(of: "--type").flatMap { i in
    CommandLine.arguments.dropFirst(i + 1).first.map { name in allTypes.filter { $0.name.lowercased() == name.lowercased() } }
} ?? allTypes
/// SmolLM2's shapes, and with `--1b` Llama-3.2-1B's (attention, FFN up, FFN down).
let shapes: [(rows: Int, columns: Int)] = CommandLine.arguments.contains("--1b")
    ? [(2048, 2048), (8192, 2048), (2048, 8192)] : [(1536, 576), (576, 1536), (49152, 576)]

/// Random blocks with small finite F16 scales: the dot products' cost does not depend on the values.
func randomTensor(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
    let bytesPerRow = columns / type.blockSize * type.bytesPerBlock
    var bytes = (0..<(rows * bytesPerRow)).map { _ in UInt8(truncatingIfNeeded: next()) }
    func half(_ at: Int, _ v: Float) { let b = Float16(v).bitPattern; bytes[at] = UInt8(b & 0xFF); bytes[at + 1] = UInt8(b >> 8) }
    if type == .f16 || type == .bf16 {
        for i in 0..<(rows * columns) {
            let v = Float(next() % 2000) / 1000 - 1
            if type == .f16 { half(2 * i, v) } else { bytes[2 * i] = UInt8((v.bitPattern >> 16) & 0xFF); bytes[2 * i + 1] = UInt8(v.bitPattern >> 24) }
        }
        return bytes
    }
    let offsets: [GGMLType: [Int]] = [.q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0], .q2_K: [80, 82], .q3_K: [108],
                                      .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208]]
    for block in 0..<(bytes.count / type.bytesPerBlock) {
        for o in offsets[type] ?? [] { half(block * type.bytesPerBlock + o, 0.01) }
    }
    return bytes
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// `--pool`: the thread pool's cost per job (a decoding step pays it about 150 times per token): an empty
// job of 16 pieces, wall time, best of 5 × 20,000.
if CommandLine.arguments.contains("--pool") {
    for threads in [1, 2] {
        let pool = ThreadPool(threads: threads)
        var best = Double.infinity
        for _ in 0..<5 {
            best = min(best, seconds { for _ in 0..<20_000 { pool.parallelFor(16) { _ in } } } / 20_000)
        }
        print(String(format: "%d thread(s): empty 16-piece job %.2f µs", threads, best * 1e6))
    }
    exit(0)
}

let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-kernel-bench-\(getpid()).gguf").path
var writer = GGUFWriter()
for type in types {
    for shape in shapes where shape.columns % type.blockSize == 0 {
        try writer.addTensor(name: "\(type.name)-\(shape.rows)x\(shape.columns)", shape: [shape.columns, shape.rows], type: type,
                             data: randomTensor(type, rows: shape.rows, columns: shape.columns, seed: UInt64(shape.rows)))
    }
}
try writer.write(to: path)
defer { try? FileManager.default.removeItem(atPath: path) }
let file = try GGUFFile(path: path)
let pools = [1: ThreadPool(threads: 1), 2: ThreadPool(threads: 2)]

/// The matrix as the file has it, then its regrouped copy where the build makes one.
func layouts(_ plain: WeightMatrix) -> [WeightMatrix] {
    let packed = plain.repackedForMatmul()
    return packed.repacked == nil ? [plain] : [plain, packed]
}

/// Thread CPU time: on a shared machine it counts the cycles this thread ran, not the ones it waited.
func cpuSeconds(_ body: () -> Void) -> Double {
    var a = timespec(), b = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a)
    body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b)
    return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
}

// `--matmul`: one-thread matmul GFLOP/s at 512 tokens per type and shape, by thread CPU time (steadier
// than wall time on a busy machine; for comparing kernel variants).
if CommandLine.arguments.contains("--matmul") {
    for type in types {
        for shape in shapes {
            guard let info = file.tensor(named: "\(type.name)-\(shape.rows)x\(shape.columns)") else { continue }
            for w in layouts(try WeightMatrix(info, in: file)) {
                let x = (0..<(512 * shape.columns)).map { Float(($0 * 7919) % 2000) / 1000 - 1 }
                var y = [Float](repeating: 0, count: 512 * shape.rows)
                var best = Double.infinity, bestVec = Double.infinity
                let tokens = shape.rows > 16384 ? 64 : 512
                for _ in 0..<5 {
                    best = min(best, cpuSeconds { matmul(w, x, tokens: tokens, &y, pool: pools[1]!) })
                    bestVec = min(bestVec, cpuSeconds { for _ in 0..<10 { matvec(w, x, &y, pool: pools[1]!) } } / 10)
                }
                print(String(format: "%@%@ %d×%d, 1 thread: matvec %.1f ns/row, matmul %d tokens %.1f GFLOP/s", type.name, w.repacked == nil ? "" : "(repacked)",
                             shape.rows, shape.columns, bestVec * 1e9 / Double(shape.rows), tokens, 2 * Double(shape.rows * shape.columns * tokens) / best / 1e9))
            }
        }
    }
    exit(0)
}

print("Kernel benchmark, \(ISO8601DateFormatter().string(from: Date())), AVX2 kernels: \(kernelsUseAVX2)")
print("| type | shape (rows×columns) | matvec 1 thread ns/row | GB/s | matvec 2 threads ns/row | GB/s | speed-up | matmul 512 tokens, 2 threads GFLOP/s |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for type in types {
    for shape in shapes {
        guard let info = file.tensor(named: "\(type.name)-\(shape.rows)x\(shape.columns)") else {
            print("| \(type.name) | \(shape.rows)×\(shape.columns) | — | | | | | |")
            continue
        }
        for w in layouts(try WeightMatrix(info, in: file)) {
            let label = type.name + (w.repacked == nil ? "" : " repacked")
            let x = (0..<(512 * shape.columns)).map { Float(($0 * 7919) % 2000) / 1000 - 1 }
            var y = [Float](repeating: 0, count: 512 * shape.rows)
            var perRow: [Int: Double] = [:], gbs: [Int: Double] = [:]
            for threads in [1, 2] {
                let pool = pools[threads]!
                let reps = quick ? 20 : max(20, 200_000_000 / info.byteCount)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in matvec(w, xp.baseAddress!, yp.baseAddress!, pool: pool) }  // warm-up
                }
                let t = seconds {
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for _ in 0..<reps { matvec(w, xp.baseAddress!, yp.baseAddress!, pool: pool) }
                        }
                    }
                } / Double(reps)
                perRow[threads] = t * 1e9 / Double(shape.rows)
                gbs[threads] = Double(info.byteCount) / t / 1e9
            }
            let tokens = shape.rows > 4096 ? 64 : 512
            let mmReps = quick ? 1 : 3
            let tm = seconds {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        for _ in 0..<mmReps { matmul(w, xp.baseAddress!, tokens: tokens, yp.baseAddress!, pool: pools[2]!) }
                    }
                }
            } / Double(mmReps)
            let gflops = 2 * Double(shape.rows * shape.columns * tokens) / tm / 1e9
            print(String(format: "| %@ | %d×%d | %.1f | %.1f | %.1f | %.1f | %.2f× | %.1f%@ |", label, shape.rows, shape.columns,
                         perRow[1]!, gbs[1]!, perRow[2]!, gbs[2]!, perRow[1]! / perRow[2]!, gflops, tokens == 512 ? "" : " (64 tokens)"))
        }
    }
}
