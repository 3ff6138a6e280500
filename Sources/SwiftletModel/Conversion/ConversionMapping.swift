import SwiftletGGUF

/// How one family of Hugging Face models becomes GGUF: the metadata, and a GGUF name for each tensor.
/// ``BertConversion`` is one; a Llama-family mapping would be another, registered in
/// ``ModelConversion/mappings``.
public protocol ConversionMapping: Sendable {
    /// The `config.json` `architectures` values this mapping converts.
    static var architectures: [String] { get }

    init(folder: ModelFolder) throws(ConversionError)

    /// The metadata after `general.*`, in the order llama.cpp's converter writes it; `fileType` is
    /// `general.file_type`. The converter adds `general.architecture`, `general.type` and `general.name` first.
    func metadata(fileType: Int) throws(ConversionError) -> [(String, GGUFValue)]

    /// `general.architecture`.
    var architecture: String { get }

    /// The GGUF name of a folder tensor, nil for one the conversion leaves out, or an error for one it
    /// does not know.
    func ggufName(_ name: String) throws(ConversionError) -> String?

    /// Each GGUF tensor the model must have, with its shape as the folder stores it (outermost first).
    func expectedTensors() -> [(name: String, shape: [Int])]

    /// Whether a 2-D weight stays F32 whatever the output type (llama.cpp keeps position and token-type
    /// embeddings F32).
    func keepsF32(_ ggufName: String) -> Bool

    /// Problems that did not stop the conversion.
    var warnings: [String] { get }
}
