import FuzzSupport
import SwiftletGGUF

/// libFuzzer's entry point: parse the input as a GGUF file; when it is accepted, read everything a loader
/// reads (every metadata value through every accessor, every tensor info and its bytes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    var sink = 0
    for (key, value) in file.metadata.entries {
        sink &+= key.utf8.count &+ visit(value)
    }
    _ = file.metadata.architecture
    _ = file.metadata[hyperparameter: "block_count"]?.int
    for info in file.tensors {
        sink &+= info.rowLength &+ info.rowCount &+ info.bytesPerRow
        if let same = file.tensor(named: info.name), same != info { fatalError("tensor index disagrees") }
        if let view = try? file.tensorData(named: info.name) {
            if view.count != info.byteCount { fatalError("tensor view has the wrong size") }
            if let first = view.first, let last = view.last { sink &+= Int(first) &+ Int(last) }
        }
    }
    sink &+= file.parameterCount &+ file.tensorBytes
    _ = try? file.tensorData(named: "no such tensor")
    return sink == 42 ? 0 : 0
}

/// Reads a value through every accessor, descending into arrays.
private func visit(_ value: GGUFValue) -> Int {
    var n = value.type.name.utf8.count
    n &+= value.int ?? 0
    n &+= value.double.map { $0.isFinite ? 1 : 0 } ?? 0
    n &+= value.float.map { $0.isNaN ? 1 : 0 } ?? 0
    n &+= value.bool == true ? 1 : 0
    n &+= value.string?.utf8.count ?? 0
    if let typed = value.typedArray {
        n &+= typed.count &+ typed.elementType.name.utf8.count
        n &+= typed.strings?.count ?? 0
        n &+= typed.floats?.count ?? 0
        n &+= typed.ints?.count ?? 0
    }
    for element in value.array ?? [] { n &+= visit(element) }
    return n
}

@main
enum Fuzzer {
    static func main() { runLibFuzzer(fuzzGGUF) }
}
