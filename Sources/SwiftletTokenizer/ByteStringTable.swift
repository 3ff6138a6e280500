/// An open-addressing hash table from byte strings to token ids, looked up by a slice of a caller's
/// buffer so the hot paths never build a `String` or concatenate pieces.
struct ByteStringTable: Sendable {
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int32] = []
    private var keyEnd: [Int32] = []
    private var values: [Int32] = []
    private var tags: [Int] = []
    private var slots: [Int32]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Inserts `key → value`; a later insertion of the same key replaces the earlier (as llama.cpp's map).
    mutating func insert(_ key: [UInt8], _ value: Int32) {
        key.withUnsafeBufferPointer { kp in
            let h = Self.hash(kp)
            var i = h & mask
            while true {
                let s = Int(slots[i])
                if s < 0 {
                    slots[i] = Int32(values.count)
                    tags.append(h)
                    keyStart.append(Int32(keyBytes.count))
                    keyBytes.append(contentsOf: key)
                    keyEnd.append(Int32(keyBytes.count))
                    values.append(value)
                    return
                }
                if tags[s] == h && equal(s, kp) { values[s] = value; return }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    private func equal(_ s: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let a = Int(keyStart[s]), e = Int(keyEnd[s])
        if e - a != p.count { return false }
        return keyBytes.withUnsafeBufferPointer { kb in
            for j in 0..<p.count where kb[a + j] != p[j] { return false }
            return true
        }
    }

    /// The id stored for these bytes, or -1.
    @inline(__always)
    func lookup(_ p: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = Self.hash(p)
        var i = h & mask
        while true {
            let s = Int(slots[i])
            if s < 0 { return -1 }
            if tags[s] == h && equal(s, p) { return values[s] }
            i = (i + 1) & mask
        }
    }

    func lookup(_ key: [UInt8]) -> Int32 { key.withUnsafeBufferPointer { lookup($0) } }
}
