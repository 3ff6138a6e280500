import Foundation
import SwiftletServer
import SwiftletTestSupport
import Testing

/// `swiftlet serve --config`: the YAML file's settings, and errors that name the line at fault.
@Suite struct ServeConfigurationTests {
    static let fixtures = TestPaths.fixtures.path

    @Test func aFullFileIsRead() throws {
        let c = try ServeConfiguration.parse("""
            host: 0.0.0.0
            port: 8081
            api_key: secret
            max_loaded: 2
            max_memory: 1.5G
            idle_unload: 600
            default_model: tiny
            header_timeout: 5
            max_connections: 64
            models:
              tiny:
                path: tiny-llama-f32.gguf
                aliases: [gpt-4o-mini, title]
                ctx: 128
                parallel: 2
                sampling:
                  temperature: 0.2
                  top_k: 20
              other:
                path: tiny-llama-q8_0.gguf
                aliases: one-alias
            """, baseDirectory: Self.fixtures)
        #expect(c.host == "0.0.0.0" && c.port == 8081 && c.apiKey == "secret")
        #expect(c.maxLoaded == 2 && c.maxMemory == 3 << 29 && c.idleUnload == 600 && c.defaultModel == "tiny")
        #expect(c.headerTimeout == 5 && c.maxConnections == 64)
        #expect(c.models.map(\.name) == ["tiny", "other"])
        #expect(c.models[0].path == Self.fixtures + "/tiny-llama-f32.gguf")
        #expect(c.models[0].aliases == ["gpt-4o-mini", "title"] && c.models[1].aliases == ["one-alias"])
        #expect(c.models[0].contextLength == 128 && c.models[0].parallel == 2)
        #expect(c.models[0].sampling?.temperature == 0.2 && c.models[0].sampling?.topK == 20)
        #expect(c.models[0].sampling?.topP == 0.95, "settings not given keep the library's defaults")
        #expect(c.models[1].sampling == nil)
    }

    @Test func byteSizes() {
        #expect(ServeConfiguration.bytes("8G") == 8 << 30)
        #expect(ServeConfiguration.bytes("512M") == 512 << 20)
        #expect(ServeConfiguration.bytes("512MiB") == 512 << 20)
        #expect(ServeConfiguration.bytes("2gb") == 2 << 30)
        #expect(ServeConfiguration.bytes("1000") == 1000)
        #expect(ServeConfiguration.bytes("lots") == nil && ServeConfiguration.bytes("-1G") == nil)
    }

    /// Each bad file is reported at its line, with what is wrong.
    @Test(arguments: [
        ("port: 80\nmodels:\n  a:\n    path: [unclosed\n", 5, "YAML syntax"),
        ("port: 80\nportt: 81\n", 2, "unknown key 'portt'"),
        ("port: eighty\n", 1, "'port' must be a whole number"),
        ("models:\n  a:\n    path: tiny-llama-f32.gguf\n    ctx: big\n", 4, "'ctx' must be a whole number"),
        ("models:\n  a:\n    ctx: 64\n", 2, "the model 'a' has no 'path'"),
        ("models:\n  a:\n    path: missing.gguf\n", 3, "does not exist"),
        ("models:\n  a:\n    path: tiny-llama-f32.gguf\n    colour: red\n", 4, "unknown key 'colour'"),
        ("models:\n  a:\n    path: tiny-llama-f32.gguf\n    sampling:\n      temprature: 1\n", 5,
         "unknown key 'temprature'"),
        ("idle_unload: -5\n", 1, "'idle_unload' must be a number of seconds above 0"),
        ("max_memory: plenty\n", 1, "'max_memory' must be a number of bytes"),
        ("port: 1\nport: 2\n", 2, "given twice"),
        ("models: [a, b]\n", 1, "'models' must be a mapping"),
    ])
    func badFilesNameTheirLine(text: String, line: Int, message: String) {
        do {
            _ = try ServeConfiguration.parse(text, file: "models.yaml", baseDirectory: Self.fixtures)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(error.description.hasPrefix("models.yaml:\(line): "))
        }
    }

    @Test func anUnreadableFileIsAnErrorWithoutALine() {
        #expect(throws: ServeConfigurationError.self) { try ServeConfiguration.load(path: "/nonexistent.yaml") }
    }
}
