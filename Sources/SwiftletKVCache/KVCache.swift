#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
#endif
/// One sequence's key/value cache: per layer, a K and a V row for each position.
///
/// Rows are stored as F16 (default), F32 or Q8_0, K and V each in its own type (llama.cpp's
/// `--cache-type-k` / `--cache-type-v`). A full-attention layer holds `capacity` positions; a
/// sliding-window layer holds a ring of `window + maxBatch` positions (enough for a batch whose first
/// token still sees its whole window), so long contexts cost only a window's memory there.
///
/// Writing a batch: ``reserve(_:)`` checks room, the forward pass ``store(layer:position:key:value:)``s
/// each new row and reads past rows with ``readKeys(layer:positions:into:)`` /
/// ``readValues(layer:positions:into:)``, then ``commit(_:)`` makes the new positions part of ``count``.
/// Not thread-safe for mutation: one sequence is advanced by one task at a time.
public final class KVCache: @unchecked Sendable {
    public let layers: [KVLayerShape]
    /// How K rows are stored.
    public let keyStorage: KVStorageType
    /// How V rows are stored.
    public let valueStorage: KVStorageType
    /// K's storage type (the one type of a cache made with ``init(layers:capacity:maxBatch:storage:)``;
    /// read ``keyStorage`` and ``valueStorage`` where they may differ).
    public var storage: KVStorageType { keyStorage }
    /// Positions this sequence can hold (the context length asked for).
    public let capacity: Int
    /// The largest batch a forward pass may append at once (bounds the sliding-window rings).
    public let maxBatch: Int
    /// Positions held and committed; the next token goes at position `count`.
    public private(set) var count: Int = 0

    /// Ring rows per layer (capacity for full layers).
    private let rows: [Int]
    /// Oldest position still held per layer (positions below were overwritten in a ring).
    private var oldestHeld: [Int]
    /// One past the highest position ever written per layer.
    private var highWater: [Int]
    private let keys: [UnsafeMutableRawPointer]
    private let values: [UnsafeMutableRawPointer]

    /// Allocates a cache for `capacity` positions, K and V stored as `storage`.
    public convenience init(layers: [KVLayerShape], capacity: Int, maxBatch: Int = 512,
                            storage: KVStorageType = .f16) throws(KVCacheError) {
        try self.init(layers: layers, capacity: capacity, maxBatch: maxBatch, keyStorage: storage, valueStorage: storage)
    }

    /// Allocates a cache for `capacity` positions, K rows stored as `keyStorage` and V rows as `valueStorage`.
    ///
    /// Throws ``KVCacheError/layoutMismatch(_:)`` when a row width is not a whole number of the type's
    /// blocks (32 values for Q8_0).
    public init(layers: [KVLayerShape], capacity: Int, maxBatch: Int = 512, keyStorage: KVStorageType,
                valueStorage: KVStorageType) throws(KVCacheError) {
        guard capacity > 0, maxBatch > 0 else { throw .capacityExceeded(requested: 1, capacity: max(0, capacity)) }
        guard layers.allSatisfy({ $0.keyWidth > 0 && $0.valueWidth > 0 && ($0.window ?? 1) > 0 }) else {
            throw .layoutMismatch("layer row widths and windows must be positive")
        }
        try Self.checkBlocks(layers, keyStorage: keyStorage, valueStorage: valueStorage)
        self.layers = layers
        self.keyStorage = keyStorage
        self.valueStorage = valueStorage
        self.capacity = capacity
        self.maxBatch = maxBatch
        rows = layers.map { shape in shape.window.map { min(capacity, $0 + maxBatch) } ?? capacity }
        oldestHeld = Array(repeating: 0, count: layers.count)
        highWater = Array(repeating: 0, count: layers.count)
        keys = zip(layers, rows).map {
            UnsafeMutableRawPointer.allocate(byteCount: keyStorage.rowBytes(width: $0.keyWidth) * $1, alignment: 64)
        }
        values = zip(layers, rows).map {
            UnsafeMutableRawPointer.allocate(byteCount: valueStorage.rowBytes(width: $0.valueWidth) * $1, alignment: 64)
        }
    }

    /// Throws unless every K and V row is a whole number of its storage type's blocks.
    public static func checkBlocks(_ layers: [KVLayerShape], keyStorage: KVStorageType,
                                   valueStorage: KVStorageType) throws(KVCacheError) {
        for (l, shape) in layers.enumerated() {
            for (what, width, type) in [("K", shape.keyWidth, keyStorage), ("V", shape.valueWidth, valueStorage)]
            where width % type.blockSize != 0 {
                throw .layoutMismatch("layer \(l)'s \(what) rows hold \(width) values, not a multiple of "
                    + "\(type.rawValue)'s block of \(type.blockSize)")
            }
        }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Bytes allocated for K and V over all layers.
    public var byteCount: Int {
        zip(layers, rows).reduce(0) { total, layer in
            total + (keyStorage.rowBytes(width: layer.0.keyWidth) + valueStorage.rowBytes(width: layer.0.valueWidth)) * layer.1
        }
    }

    /// Bytes a cache with this layout would allocate, without allocating it.
    public static func byteCount(layers: [KVLayerShape], capacity: Int, maxBatch: Int = 512,
                                 storage: KVStorageType = .f16) -> Int {
        byteCount(layers: layers, capacity: capacity, maxBatch: maxBatch, keyStorage: storage, valueStorage: storage)
    }

    /// Bytes a cache with this layout and these K and V types would allocate, without allocating it.
    public static func byteCount(layers: [KVLayerShape], capacity: Int, maxBatch: Int = 512,
                                 keyStorage: KVStorageType, valueStorage: KVStorageType) -> Int {
        layers.reduce(0) { total, shape in
            let r = shape.window.map { min(capacity, $0 + maxBatch) } ?? capacity
            return total + (keyStorage.rowBytes(width: shape.keyWidth) + valueStorage.rowBytes(width: shape.valueWidth)) * r
        }
    }

    /// Positions still free.
    public var remaining: Int { capacity - count }

    /// Checks that `tokens` more positions fit, before a forward pass writes them.
    public func reserve(_ tokens: Int) throws(KVCacheError) {
        guard tokens <= maxBatch else { throw .batchTooLarge(tokens: tokens, maxBatch: maxBatch) }
        guard tokens >= 0, count + tokens <= capacity else {
            throw .capacityExceeded(requested: count + tokens, capacity: capacity)
        }
    }

    /// Makes `tokens` positions written after ``count`` part of the sequence.
    public func commit(_ tokens: Int) throws(KVCacheError) {
        try reserve(tokens)
        count += tokens
    }

    /// Writes the K and V rows of `position` in `layer` (widths from the layer's shape).
    public func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) throws(KVCacheError) {
        try checkLayer(layer)
        guard position >= count, position < min(capacity, count + maxBatch) else {
            throw .capacityExceeded(requested: position + 1, capacity: min(capacity, count + maxBatch))
        }
        let slot = position % rows[layer]
        let shape = layers[layer]
        write(key, to: keys[layer], slot: slot, width: shape.keyWidth, as: keyStorage)
        write(value, to: values[layer], slot: slot, width: shape.valueWidth, as: valueStorage)
        highWater[layer] = max(highWater[layer], position + 1)
        oldestHeld[layer] = max(oldestHeld[layer], highWater[layer] - rows[layer])
    }

    /// Copies the K rows of `positions` of `layer`, as floats, to `dst` (positions.count × keyWidth).
    public func readKeys(layer: Int, positions: Range<Int>, into dst: UnsafeMutablePointer<Float>) throws(KVCacheError) {
        try checkHeld(layer, positions)
        read(from: keys[layer], layer: layer, positions: positions, width: layers[layer].keyWidth, as: keyStorage,
             into: dst)
    }

    /// Copies the V rows of `positions` of `layer`, as floats, to `dst` (positions.count × valueWidth).
    public func readValues(layer: Int, positions: Range<Int>, into dst: UnsafeMutablePointer<Float>) throws(KVCacheError) {
        try checkHeld(layer, positions)
        read(from: values[layer], layer: layer, positions: positions, width: layers[layer].valueWidth,
             as: valueStorage, into: dst)
    }

    /// The F16 K and V rows of `positions` in `layer`, read in place: decoding attends over the whole
    /// cache every step, and converting it all to floats first cost more than the attention itself.
    /// Throws unless the cache stores K and V as F16 and holds every position asked for.
    public func halfRows(layer: Int, positions: Range<Int>) throws(KVCacheError) -> KVHalfRows {
        try checkHeld(layer, positions)
        guard keyStorage == .f16, valueStorage == .f16 else {
            throw .layoutMismatch("halfRows needs F16 storage; this cache stores K as \(keyStorage.rawValue) "
                + "and V as \(valueStorage.rawValue)")
        }
        return KVHalfRows(keys: UnsafePointer(keys[layer].assumingMemoryBound(to: Float16.self)),
                          values: UnsafePointer(values[layer].assumingMemoryBound(to: Float16.self)),
                          ringRows: rows[layer], keyWidth: layers[layer].keyWidth, valueWidth: layers[layer].valueWidth,
                          positions: positions)
    }

    /// Forgets every position from `position` on (prefix reuse, stop-sequence rollback).
    ///
    /// Throws when a sliding-window layer has already dropped rows the next token would attend to.
    public func truncate(to position: Int) throws(KVCacheError) {
        guard position >= 0, position <= count else {
            throw .capacityExceeded(requested: position, capacity: count)
        }
        if position == count { return }
        for (l, shape) in layers.enumerated() where position > 0 {
            let needed = firstAttendedPosition(for: position, window: shape.window)
            guard needed >= oldestHeld[l] else {
                throw .cannotTruncate(to: position, oldestNeeded: needed, oldestHeld: oldestHeld[l])
            }
        }
        count = position
        for l in layers.indices { highWater[l] = min(highWater[l], position) }
    }

    /// Forgets everything.
    public func reset() {
        count = 0
        for l in layers.indices { highWater[l] = 0; oldestHeld[l] = 0 }
    }

    /// Replaces this cache's content with the first `prefix` positions of `source`.
    public func copyPrefix(from source: KVCache, count prefix: Int) throws(KVCacheError) {
        guard source.layers == layers, source.keyStorage == keyStorage, source.valueStorage == valueStorage else {
            throw .layoutMismatch("source and destination caches have different layers or storage types")
        }
        guard prefix >= 0, prefix <= source.count else {
            throw .capacityExceeded(requested: prefix, capacity: source.count)
        }
        guard prefix <= capacity else { throw .capacityExceeded(requested: prefix, capacity: capacity) }
        for (l, shape) in layers.enumerated() {
            // Rows are copied as stored (a Q8_0 row's blocks as they are: no requantization).
            let kb = keyStorage.rowBytes(width: shape.keyWidth), vb = valueStorage.rowBytes(width: shape.valueWidth)
            let needed = prefix == 0 ? 0 : firstAttendedPosition(for: prefix, window: shape.window)
            let from = max(source.oldestHeld[l], prefix - rows[l], 0)
            guard needed >= from || prefix == 0 else {
                throw .cannotTruncate(to: prefix, oldestNeeded: needed, oldestHeld: from)
            }
            for p in from..<prefix {
                let s = p % source.rows[l], d = p % rows[l]
                (keys[l] + d * kb).copyMemory(from: source.keys[l] + s * kb, byteCount: kb)
                (values[l] + d * vb).copyMemory(from: source.values[l] + s * vb, byteCount: vb)
            }
            highWater[l] = prefix
            oldestHeld[l] = from
        }
        count = prefix
    }

    // MARK: - Internals

    private func checkLayer(_ layer: Int) throws(KVCacheError) {
        guard layers.indices.contains(layer) else { throw .noSuchLayer(layer, layerCount: layers.count) }
    }

    private func checkHeld(_ layer: Int, _ positions: Range<Int>) throws(KVCacheError) {
        try checkLayer(layer)
        guard positions.isEmpty || positions.lowerBound >= oldestHeld[layer] else {
            throw .positionNotHeld(layer: layer, position: positions.lowerBound)
        }
        guard positions.isEmpty || positions.upperBound <= highWater[layer] else {
            throw .positionNotHeld(layer: layer, position: positions.upperBound - 1)
        }
    }

    private func write(_ src: UnsafePointer<Float>, to base: UnsafeMutableRawPointer, slot: Int, width: Int,
                       as storage: KVStorageType) {
        switch storage {
        case .f32:
            (base + slot * width * 4).copyMemory(from: src, byteCount: width * 4)
        case .f16:
            let dst = (base + slot * width * 2).assumingMemoryBound(to: UInt16.self)
            for i in 0..<width { dst[i] = Float16(src[i]).bitPattern }
        case .q8_0:
            quantizeQ8_0Row(src, base + slot * storage.rowBytes(width: width), count: width)
        }
    }

    private func read(from base: UnsafeMutableRawPointer, layer: Int, positions: Range<Int>, width: Int,
                      as storage: KVStorageType, into dst: UnsafeMutablePointer<Float>) {
        let ring = rows[layer]
        var p = positions.lowerBound
        var out = dst
        while p < positions.upperBound {
            // A contiguous run of slots up to the ring's end.
            let slot = p % ring
            let run = min(positions.upperBound - p, ring - slot)
            switch storage {
            case .f32:
                out.update(from: (base + slot * width * 4).assumingMemoryBound(to: Float.self), count: run * width)
            case .f16:
                let src = (base + slot * width * 2).assumingMemoryBound(to: UInt16.self)
                halfToFloat(src, out, count: run * width)
            case .q8_0:
                // Consecutive rows are consecutive blocks: one call dequantizes the run.
                dequantizeQ8_0Row(base + slot * storage.rowBytes(width: width), out, count: run * width)
            }
            p += run
            out += run * width
        }
    }
}

/// A view of one layer's F16 K and V rows for a checked range of positions (``KVCache/halfRows(layer:positions:)``).
/// Valid until the cache is next written or truncated.
///
/// Position p's rows are at ring slot `slot(of: p)`, and consecutive positions take consecutive slots,
/// wrapping at ``ringRows`` (sliding-window layers keep a ring); callers advance a slot rather than
/// divide per position.
public struct KVHalfRows: @unchecked Sendable {
    // @unchecked: a read-only view; the engine does not write a layer while attending over it.
    public let keys: UnsafePointer<Float16>
    public let values: UnsafePointer<Float16>
    public let ringRows: Int
    public let keyWidth: Int
    public let valueWidth: Int
    /// The positions this view was checked for.
    public let positions: Range<Int>

    /// The ring slot of `position`, which must lie in ``positions``.
    public func slot(of position: Int) -> Int {
        precondition(positions.contains(position), "position \(position) outside the checked range \(positions)")
        return position % ringRows
    }

    /// The slot of the position after the one at `slot` (inlinable: it is taken per position in attention).
    @inlinable
    public func slot(after slot: Int) -> Int { slot + 1 == ringRows ? 0 : slot + 1 }
}

/// F16 → F32 through a 64 K-entry table (exact, and much faster than a software conversion).
private let halfTable: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }

@inline(__always)
private func halfToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    #if SWIFTLET_AVX2 && arch(x86_64)
    // F16C converts eight at a time; this runs over the whole attended cache every decode step.
    while i + 8 <= count {
        let h = _mm_loadu_si128(UnsafeRawPointer(src + i).assumingMemoryBound(to: __m128i.self))
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h))
        i += 8
    }
    #endif
    halfTable.withUnsafeBufferPointer { t in
        while i < count { dst[i] = t[Int(src[i])]; i += 1 }
    }
}
