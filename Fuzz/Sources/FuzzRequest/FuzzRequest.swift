import FuzzSupport
import Foundation
import SwiftletGrammar
import SwiftletProvider

/// libFuzzer's entry point: the input is a `POST /v1/chat/completions` body. Decode and validate it as
/// the server does before it starts a generation (SmolLM2's vocabulary size and a 512-token context), and
/// when it is accepted, turn its grammar or JSON schema into a parsed grammar as the model would. The same
/// body is also decoded as a legacy `/v1/completions` request.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(UnsafeBufferPointer(start: data, count: size))
    _ = try? JSONDecoder().decode(CompletionRequest.self, from: body)
    guard let request = try? ChatProvider.decodeChatRequest(
        body: body, modelID: "smollm2", vocabularySize: 49_152, contextLength: 512)
    else { return 0 }
    if let schema = request.options.jsonSchema, let gbnf = try? JSONSchemaGrammar.gbnf(for: schema) {
        _ = try? Grammar(gbnf)
    }
    if let gbnf = request.options.grammar {
        _ = try? Grammar(gbnf)
    }
    for tool in request.options.tools {
        _ = try? JSONSchemaGrammar.gbnf(for: tool.parameters)
    }
    return 0
}

@main
enum Fuzzer {
    static func main() { runLibFuzzer(fuzzRequest) }
}
