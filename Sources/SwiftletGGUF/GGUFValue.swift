/// The type tag of a GGUF metadata value, as written in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes a scalar of this type takes; nil for strings and arrays, whose size is in the data.
    var scalarSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The smallest number of bytes one element of this type can take, used to bound untrusted counts.
    var minimumSize: Int { scalarSize ?? (self == .string ? 8 : 12) }

    public var name: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        }
    }
}

/// A typed GGUF metadata value.
///
/// Read it with the accessor for the kind you expect: `value.int`, `value.string`, `value.array`…;
/// each returns nil when the stored type does not fit.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The value as an `Int` when it is an integer of any width that fits.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a `Double` when it is a float or an integer.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    /// The value as a `Float` when it is a float or an integer.
    public var float: Float? { double.map(Float.init) }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The array's elements as values, whatever their type.
    public var array: [GGUFValue]? {
        if case .array(let v) = self { return v.values }
        return nil
    }

    /// The typed storage of an array value, for bulk access without boxing each element.
    public var typedArray: GGUFArray? {
        if case .array(let v) = self { return v }
        return nil
    }
}

/// The elements of a GGUF array, stored by element type so that large arrays (a 262,144-token vocabulary)
/// cost one Swift array, not one boxed value per element.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case uint64([UInt64])
    case int64([Int64])
    case float32([Float])
    case float64([Double])
    case bool([Bool])
    case string([String])
    /// Arrays of arrays; `elementType` records the declared type even when the array is empty.
    case array([GGUFArray])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .uint16(let a): a.count
        case .int16(let a): a.count
        case .uint32(let a): a.count
        case .int32(let a): a.count
        case .uint64(let a): a.count
        case .int64(let a): a.count
        case .float32(let a): a.count
        case .float64(let a): a.count
        case .bool(let a): a.count
        case .string(let a): a.count
        case .array(let a): a.count
        }
    }

    /// Each element boxed as a `GGUFValue`.
    public var values: [GGUFValue] {
        switch self {
        case .uint8(let a): a.map(GGUFValue.uint8)
        case .int8(let a): a.map(GGUFValue.int8)
        case .uint16(let a): a.map(GGUFValue.uint16)
        case .int16(let a): a.map(GGUFValue.int16)
        case .uint32(let a): a.map(GGUFValue.uint32)
        case .int32(let a): a.map(GGUFValue.int32)
        case .uint64(let a): a.map(GGUFValue.uint64)
        case .int64(let a): a.map(GGUFValue.int64)
        case .float32(let a): a.map(GGUFValue.float32)
        case .float64(let a): a.map(GGUFValue.float64)
        case .bool(let a): a.map(GGUFValue.bool)
        case .string(let a): a.map(GGUFValue.string)
        case .array(let a): a.map(GGUFValue.array)
        }
    }

    /// The elements as strings, when this is an array of strings.
    public var strings: [String]? {
        if case .string(let a) = self { return a }
        return nil
    }

    /// The elements as `Float`, when this is an array of floats.
    public var floats: [Float]? {
        switch self {
        case .float32(let a): a
        case .float64(let a): a.map(Float.init)
        default: nil
        }
    }

    /// The elements as `Int`, when this is an array of integers that all fit.
    public var ints: [Int]? {
        switch self {
        case .uint8(let a): a.map(Int.init)
        case .int8(let a): a.map(Int.init)
        case .uint16(let a): a.map(Int.init)
        case .int16(let a): a.map(Int.init)
        case .uint32(let a): a.map(Int.init)
        case .int32(let a): a.map(Int.init)
        case .int64(let a): a.map(Int.init)
        case .uint64(let a):
            a.allSatisfy { $0 <= UInt64(Int.max) } ? a.map { Int($0) } : nil
        default: nil
        }
    }
}

/// The metadata of a GGUF file: key–value pairs in file order, looked up by key.
public struct GGUFMetadata: Sendable, Equatable {
    /// Keys in the order the file stores them.
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]

    public init() {}

    /// Builds metadata from pairs in order; a repeated key keeps its last value.
    public init(_ pairs: [(String, GGUFValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }

    public subscript(key: String) -> GGUFValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Whether `key` is present.
    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// The pairs in file order.
    public var entries: [(key: String, value: GGUFValue)] { keys.map { ($0, values[$0]!) } }

    /// `general.architecture`, the prefix of the model's hyperparameter keys (`llama`, `gemma3`…).
    public var architecture: String? { self["general.architecture"]?.string }

    /// An architecture-prefixed hyperparameter: `metadata[hyperparameter: "block_count"]` reads
    /// `llama.block_count` in a llama file and `gemma3.block_count` in a Gemma 3 file.
    public subscript(hyperparameter suffix: String) -> GGUFValue? {
        guard let architecture else { return nil }
        return self["\(architecture).\(suffix)"]
    }

    public static func == (a: GGUFMetadata, b: GGUFMetadata) -> Bool {
        a.keys == b.keys && a.values == b.values
    }
}
