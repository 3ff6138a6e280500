import Swiftlet
import SwiftletModel
import SwiftletTestSupport
import Testing

/// A program importing the facade and the layer below it names `Model` unqualified: the facade's model
/// (the forward pass is `SwiftletModel.Transformer`). This file compiling is the check.
@Suite struct NameClashTests {
    @Test func modelIsTheFacadesWhenBothModulesAreImported() async throws {
        let model: Model = try await Model.load(TinyModelFiles.source)
        let network = try Transformer(path: TinyModelFiles.source)
        #expect(model.contextLength == network.config.trainedContextLength)
        #expect(Model.identifier(forPath: TinyModelFiles.source) == "tiny-llama-f32")
    }
}
