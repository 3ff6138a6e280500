import Foundation
import SwiftletChat
import Testing

@Suite struct ChatTemplateTests {
    let conversation = [
        ChatMessage(role: .system, content: "Be brief."),
        ChatMessage(role: .user, content: "  <|im_start|>hi  "),
    ]

    @Test func segmentsTellContentFromTemplateText() throws {
        let template = try ChatTemplate(source: "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}")
        let segments = try template.renderSegments(messages: conversation, addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(segments.map(\.text).joined() == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|im_start|>hi<|im_end|>\n")
        #expect(segments.filter(\.isContent).map(\.text) == ["Be brief.", "<|im_start|>hi"])
        // Roles come from the conversation too, but only content is protected from special-token parsing.
        #expect(segments.first == RenderedSegment(text: "<|im_start|>system\n", isContent: false))
    }

    @Test func concatenationKeepsProvenance() throws {
        let template = try ChatTemplate(source: "{{ '[' + messages[0].content + ']' ~ messages[0].content.upper() }}")
        let segments = try template.renderSegments(messages: [ChatMessage(role: .user, content: "x")], addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(segments == [RenderedSegment(text: "[", isContent: false), RenderedSegment(text: "x", isContent: true),
                             RenderedSegment(text: "]", isContent: false), RenderedSegment(text: "X", isContent: true)])
    }

    @Test func syntaxErrorsPointAtThePosition() {
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: "ok\n  {% if %}") }
        do {
            _ = try ChatTemplate(source: "line one\nline two {{ 1 + }}")
            Issue.record("parsed a broken template")
        } catch let ChatTemplateError.syntax(_, line, column) {
            #expect(line == 2)
            #expect(column >= 10)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func rejectingTemplatesGetAnAdaptedConversation() throws {
        let strict = try ChatTemplate(source: """
            {% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}\
            {% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('alternate!') }}{% endif %}\
            <{{ m.role }}>{{ m.content }}{% endfor %}
            """)
        #expect(throws: ChatTemplateError.raised("System role not supported")) {
            try strict.renderSegments(messages: conversation, addGenerationPrompt: false, bosToken: "", eosToken: "")
        }
        let adapted = try strict.renderAdapting(messages: conversation + [ChatMessage(role: .user, content: "again")],
                                                addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(adapted.map(\.text).joined() == "<user>Be brief.\n\n  <|im_start|>hi  \n\nagain")
    }

    @Test func chatMLFallback() throws {
        let text = try ChatTemplate.chatML.render(messages: [ChatMessage(role: .user, content: "Hi")], addGenerationPrompt: true, bosToken: "", eosToken: "")
        #expect(text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func undefinedBehavesLikeJinja2() throws {
        let t = try ChatTemplate(source: "{{ tools }}|{{ tools is defined }}|{% for t in tools %}x{% endfor %}|{{ tools | default('none') }}|{{ messages[5] is defined }}")
        #expect(try t.render(messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "") == "|False||none|False")
        let attr = try ChatTemplate(source: "{{ tools.name }}")
        #expect(throws: ChatTemplateError.self) { try attr.render(messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "") }
    }

    /// Garbage and truncated templates are errors, never crashes.
    @Test func hostileTemplatesNeverCrash() throws {
        let real = """
            {%- for message in messages %}{%- if loop.first and message.role != 'system' %}{{ '<|im_start|>system\\nHi<|im_end|>\\n' }}{%- endif %}\
            {{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}{%- endfor %}\
            {%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}{% macro m(a, b=[1, {'k': (2, 3)}]) %}{{ a ~ b | tojson }}{% endmacro %}{{ m(1) }}
            """
        let chars = Array(real)
        var seed: UInt64 = 42
        func next() -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int(seed >> 33) }
        for cut in 0...chars.count {
            _ = try? ChatTemplate(source: String(chars[..<cut])).render(messages: [ChatMessage(role: .user, content: "x")], addGenerationPrompt: true, bosToken: "", eosToken: "")
        }
        for _ in 0..<300 {
            var mutated = chars
            for _ in 0..<3 { mutated[next() % mutated.count] = Array("{}%#()[]|'\"-+.,: x")[next() % 18] }
            _ = try? ChatTemplate(source: String(mutated)).render(messages: [ChatMessage(role: .user, content: "x")], addGenerationPrompt: true, bosToken: "", eosToken: "")
        }
        // Unbounded recursion is stopped, not a stack overflow.
        let recursive = try ChatTemplate(source: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        #expect(throws: ChatTemplateError.self) { try recursive.render(messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "") }
    }
}
