#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory. Its bytes stay valid for the object's lifetime; pages are read
/// from disk only when touched, so mapping a large model costs no I/O up front.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and immutable after init; all access is through `bytes`.
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let isMapped: Bool

    /// Maps the file at `path`.
    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: MappedFile.errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: MappedFile.errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: MappedFile.errnoText())
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
    }

    /// Holds a copy of `data` in memory, for GGUF content that is not in a file (tests, generated files).
    public init(copying data: some Collection<UInt8>) {
        path = "<memory>"
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        _ = buffer.initializeMemory(as: UInt8.self, from: data)
        bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: data.count)
        isMapped = false
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            base.deallocate()
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
