import Foundation
import Testing
import SwiftletTokenizer

/// Every case of llama.cpp's `llama-tokenize` output for both real models, in all four modes.
@Suite struct ReferenceTokenizationTests {
    struct Case: Decodable {
        let text: String
        let ids_special: [Int]
        let ids_nospecial: [Int]
        let ids_special_nobos: [Int]
        let ids_nospecial_nobos: [Int]
    }
    struct File: Decodable {
        let model: String
        let tool: String
        let cases: [Case]
    }

    static func check(_ reference: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Support.referencePath(reference)))
        let file = try JSONDecoder().decode(File.self, from: data)
        #expect(file.tool.hasPrefix("llama-tokenize -f FILE"))
        let tok = try Support.tokenizer(model: file.model)
        #expect(file.cases.count >= 35)
        for c in file.cases {
            let modes: [(Bool?, Bool, [Int], String)] = [
                (nil, true, c.ids_special, "special"), (nil, false, c.ids_nospecial, "nospecial"),
                (false, true, c.ids_special_nobos, "special_nobos"), (false, false, c.ids_nospecial_nobos, "nospecial_nobos"),
            ]
            for (bos, special, expected, name) in modes {
                let got = tok.encode(c.text, addBOS: bos, parseSpecial: special)
                #expect(got == expected, "\(file.model) \(name) \(c.text.debugDescription)")
            }
            // Round trip: decoding the plain-text ids gives the text back.
            #expect(tok.decode(c.ids_nospecial_nobos) == c.text, "decode \(c.text.debugDescription)")
        }
    }

    @Test func smolLM2() throws { try Self.check("tokenize_smollm2.json") }
    @Test func gemma3() throws { try Self.check("tokenize_gemma3.json") }
}
