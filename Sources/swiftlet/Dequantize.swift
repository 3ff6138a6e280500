import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletKernels

/// `swiftlet dequantize` (hidden, for tests and debugging): a tensor's rows as little-endian float32 on
/// stdout, so an independent implementation (Python's `gguf`) can check them.
struct Dequantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a tensor's rows, dequantized, as raw little-endian float32 to stdout.", shouldDisplay: false)

    @Argument(help: "The GGUF file.") var file: String
    @Argument(help: "The tensor's name.") var tensor: String
    @Option(help: "Rows to write at most (default: all).") var rows: Int?

    func run() throws {
        try reportingErrors {
            let gguf = try GGUFFile(path: file)
            guard let info = gguf.tensor(named: tensor) else { throw CLIError("no tensor named '\(tensor)' in \(file)") }
            let data = gguf.tensorData(info)
            let count = min(rows ?? info.rowCount, info.rowCount)
            var row = [Float](repeating: 0, count: info.rowLength)
            let out = FileHandle.standardOutput
            for r in 0..<count {
                try row.withUnsafeMutableBufferPointer { p in
                    try dequantizeRow(info.type, data.baseAddress! + r * info.bytesPerRow, p.baseAddress!, count: info.rowLength)
                }
                row.withUnsafeBytes { out.write(Data($0)) }
            }
        }
    }
}
