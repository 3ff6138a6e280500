import Foundation
import SwiftletChat
import Testing

/// Tools, tool calls, reasoning and extra variables as templates see them.
@Suite struct ChatTemplateToolTests {
    let now = Date(timeIntervalSince1970: 1_721_984_703) // 2024-07-26 09:05:03 UTC
    let call = ChatToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Zürich", "days": [1, 2]}"#)

    func render(_ source: String, _ messages: [ChatMessage], tools: String? = nil,
                extra: [String: String] = [:]) throws -> String {
        try ChatTemplate(source: source).render(messages: messages, addGenerationPrompt: false, bosToken: "<s>",
                                                eosToken: "</s>", tools: tools, extraVariables: extra, now: now)
    }

    @Test func messagesCarryToolFieldsOnlyWhenSet() throws {
        let source = """
            {% for m in messages %}{{ m.role }}:{{ m.content | tojson }} \
            {{ m.tool_calls is defined }}/{{ m.tool_call_id is defined }}/{{ m.name is defined }}/\
            {{ m.reasoning_content is defined }}|{% endfor %}
            """
        let messages = [
            ChatMessage(role: .user, content: "Hi"),
            ChatMessage(role: .assistant, content: "", toolCalls: [call], reasoningContent: "think"),
            ChatMessage(role: .tool, content: "21", toolCallID: "call_1", name: "get_weather"),
            // Empty fields are left out, as llama.cpp's to_json_oaicompat leaves them out.
            ChatMessage(role: .assistant, content: "ok", toolCalls: [], toolCallID: "", name: "",
                        reasoningContent: ""),
        ]
        #expect(try render(source, messages) == """
            user:"Hi" False/False/False/False|assistant:"" True/False/False/True|tool:"21" False/True/True/False|\
            assistant:"ok" False/False/False/False|
            """)
    }

    @Test func toolCallsHaveLlamaCppShapeWithParsedArguments() throws {
        let source = "{% for m in messages if m.tool_calls %}{{ m.tool_calls | tojson }}{% endfor %}"
        #expect(try ChatTemplate(source: source).supportsObjectArguments)
        let text = try render(source, [ChatMessage(role: .assistant, content: "", toolCalls: [call])])
        #expect(text == #"""
            [{"type": "function", "function": {"name": "get_weather", \#
            "arguments": {"city": "Zürich", "days": [1, 2]}}, "id": "call_1"}]
            """#)
        // An id left empty is left out; arguments that are not JSON stay text.
        let bad = ChatToolCall(id: "", name: "f", arguments: "city=Paris {")
        #expect(try render(source, [ChatMessage(role: .assistant, content: "", toolCalls: [bad])])
            == #"[{"type": "function", "function": {"name": "f", "arguments": "city=Paris {"}}]"#)
    }

    /// A template that concatenates the arguments as text (DeepSeek R1's) gets text, as llama.cpp gives it.
    @Test func templatesThatConcatenateArgumentsGetText() throws {
        let source = """
            {% for m in messages %}{% for c in m.tool_calls %}{{ c.function.name + ' ' + c.function.arguments }}\
            {% endfor %}{% endfor %}
            """
        let template = try ChatTemplate(source: source)
        #expect(!template.supportsObjectArguments)
        let text = try template.render(messages: [ChatMessage(role: .assistant, content: "", toolCalls: [call])],
                                       addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(text == #"get_weather {"city": "Zürich", "days": [1, 2]}"#)
        // Reading one argument by name makes a template an object-arguments one.
        let reading = "{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments.arg }}{% endfor %}"
            + "{% endfor %}"
        #expect(try ChatTemplate(source: reading).supportsObjectArguments)
        #expect(try !ChatTemplate(source: "{{ messages[1].tool_calls[0].function.arguments }}").supportsObjectArguments)
    }

    @Test func toolsAreAVariableOnlyWhenGiven() throws {
        let source = "{{ tools is defined }}{% for t in tools %} {{ t.function.name }}:"
            + "{{ t.function.parameters | tojson }}{% endfor %}"
        let parameters = #"{"type": "object", "properties": {"z": {}, "a": {"enum": [1, "é", null]}}}"#
        let tools = #"[{"type": "function", "function": {"name": "f", "parameters": "# + parameters + "}}]"
        #expect(try render(source, [], tools: tools) == "True f:" + parameters)
        #expect(try render(source, []) == "False")
        #expect(try render(source, [], tools: "null") == "False")
        #expect(throws: ChatTemplateError.self) { try render(source, [], tools: #"{"type": "function"}"#) }
        #expect(throws: ChatTemplateError.self) { try render(source, [], tools: "[{") }
    }

    @Test func extraVariablesBecomeGlobals() throws {
        let source = "{{ enable_thinking is false }} {{ opts.depth + 1 }} {{ bos_token }}"
        #expect(try render(source, [], extra: ["enable_thinking": "false", "opts": #"{"depth": 2}"#]) == "True 3 <s>")
        // Set last, they override the standard variables (llama.cpp's extra context does).
        let overriding = ["enable_thinking": "true", "opts": #"{"depth": 0}"#, "bos_token": #""B""#]
        #expect(try render(source, [], extra: overriding) == "False 1 B")
        #expect(throws: ChatTemplateError.self) { try render(source, [], extra: ["enable_thinking": "False"]) }
        #expect(throws: ChatTemplateError.self) { try render(source, [], extra: ["": "1"]) }
    }

    @Test func extraVariablesFromAJSONObjectKeepTheirValues() throws {
        let object = #" {"b": {"z": 1, "a": [true, 2.50]}, "a": "x", "b2": null, "a": 3} "#
        let variables = try ChatTemplate.extraVariables(fromJSONObject: object)
        #expect(variables == ["b": #"{"z":1,"a":[true,2.50]}"#, "a": "3", "b2": "null"])
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.extraVariables(fromJSONObject: "[1]") }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.extraVariables(fromJSONObject: #"{"a": }"#) }
    }

    @Test func strftimeNowFormatsTheGivenTimeLikePython() throws {
        let format = "%d %b %Y|%A %B %-d %j %I:%M:%S %p|%F %T|%a %e %y %U %W %V %G %u %w|%c|%D|%_m|%^a|%%|%Q"
        let source = "{{ strftime_now('\(format)') }}"
        // Python's datetime.strftime on glibc for the same wall-clock times.
        let expected = [
            ("2024-07-26 09:05:03", "26 Jul 2024|Friday July 26 208 09:05:03 AM|2024-07-26 09:05:03|"
                + "Fri 26 24 29 30 30 2024 5 5|Fri Jul 26 09:05:03 2024|07/26/24| 7|FRI|%|%Q"),
            ("2021-01-03 23:59:59", "03 Jan 2021|Sunday January 3 003 11:59:59 PM|2021-01-03 23:59:59|"
                + "Sun  3 21 01 00 53 2020 7 0|Sun Jan  3 23:59:59 2021|01/03/21| 1|SUN|%|%Q"),
            ("2020-12-31 00:00:01", "31 Dec 2020|Thursday December 31 366 12:00:01 AM|2020-12-31 00:00:01|"
                + "Thu 31 20 52 52 53 2020 4 4|Thu Dec 31 00:00:01 2020|12/31/20|12|THU|%|%Q"),
            ("2026-12-28 12:00:00", "28 Dec 2026|Monday December 28 362 12:00:00 PM|2026-12-28 12:00:00|"
                + "Mon 28 26 52 52 53 2026 1 1|Mon Dec 28 12:00:00 2026|12/28/26|12|MON|%|%Q"),
        ]
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = .current
        parser.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for (time, text) in expected {
            let date = try #require(parser.date(from: time))
            #expect(try ChatTemplate(source: source).render(messages: [], addGenerationPrompt: false, bosToken: "",
                                                            eosToken: "", now: date) == text)
        }
        #expect(throws: ChatTemplateError.self) { try render("{{ strftime_now(1) }}", []) }
    }

    @Test func toJSONTakesHuggingFaceArguments() throws {
        let value = #"{% set x = {'b': [1, 2.5, {'é': none}], 'a': '☀"\n'} %}"#
        #expect(try render(value + "{{ x | tojson(indent=2) }}", [])
            == "{\n  \"b\": [\n    1,\n    2.5,\n    {\n      \"é\": null\n    }\n  ],\n  \"a\": \"☀\\\"\\n\"\n}")
        #expect(try render(value + "{{ x | tojson(ensure_ascii=true, sort_keys=true, separators=(',', ':')) }}", [])
            == #"{"a":"\u2600\"\n","b":[1,2.5,{"\u00e9":null}]}"#)
        #expect(try render(value + "{{ x | tojson(indent='\t') }}", [])
            == "{\n\t\"b\": [\n\t\t1,\n\t\t2.5,\n\t\t{\n\t\t\t\"é\": null\n\t\t}\n\t],\n\t\"a\": \"☀\\\"\\n\"\n}")
        #expect(try render("{{ [1] | tojson(indent=-3) }}", []) == "[\n1\n]")
    }

    @Test func messagesJSONIsNormalizedAsLlamaCppDoes() throws {
        let json = #"""
            [{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
              "function": {"name": "f", "arguments": "{\"a\": [1, {\"b\": \"é\"}]}"}}]},
             {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function",
              "function": {"name": "g", "arguments": {"x": 1}}}]}]
            """#
        let objects = try ChatTemplate(source: """
            {% for m in messages if m.tool_calls %}{{ m.content | tojson }}\
            {{ m.tool_calls[0].function.arguments | tojson }};{% endfor %}
            """)
        #expect(try objects.render(messagesJSON: Data(json.utf8), addGenerationPrompt: false, bosToken: "",
                                   eosToken: "")
            == #"""{"a": [1, {"b": "é"}]};""{"x": 1};"#)
        // A template reading arguments as text gets objects written as compact JSON text.
        let text = try ChatTemplate(
            source: "{% for m in messages if m.tool_calls %}{{ m.tool_calls[0].function.arguments + ';' }}{% endfor %}")
        #expect(try text.render(messagesJSON: Data(json.utf8), addGenerationPrompt: false, bosToken: "", eosToken: "")
            == #"{"a": [1, {"b": "é"}]};{"x":1};"#)
        #expect(throws: ChatTemplateError.self) {
            try text.render(messagesJSON: Data(#"{"role": "user"}"#.utf8), addGenerationPrompt: false, bosToken: "",
                            eosToken: "")
        }
    }

    @Test func conversationTextIsContentInSegments() throws {
        let source = """
            [{% for m in messages %}{{ m.reasoning_content }}|{% for c in m.tool_calls %}{{ c.function.name }}(\
            {% for k, v in c.function.arguments.items() %}{{ v }}{% endfor %}){% endfor %}{% endfor %}]
            """
        let segments = try ChatTemplate(source: source).renderSegments(
            messages: [ChatMessage(role: .assistant, content: "",
                                   toolCalls: [ChatToolCall(id: "1", name: "get_weather",
                                                            arguments: #"{"city": "Zürich"}"#)],
                                   reasoningContent: "<think>")],
            addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(segments == [
            RenderedSegment(text: "[", isContent: false), RenderedSegment(text: "<think>", isContent: true),
            RenderedSegment(text: "|", isContent: false), RenderedSegment(text: "get_weather", isContent: true),
            RenderedSegment(text: "(", isContent: false), RenderedSegment(text: "Zürich", isContent: true),
            RenderedSegment(text: ")]", isContent: false),
        ])
    }

    @Test func adaptingKeepsToolFields() throws {
        let second = ChatToolCall(id: "call_2", name: "g", arguments: "{}")
        let messages = [
            ChatMessage(role: .system, content: "Sys"),
            ChatMessage(role: .user, content: "Weather?"),
            ChatMessage(role: .assistant, content: "", toolCalls: [call], reasoningContent: "r1"),
            ChatMessage(role: .assistant, content: "Also:", toolCalls: [second], reasoningContent: "r2"),
            ChatMessage(role: .tool, content: "21", toolCallID: "call_1", name: "get_weather"),
            ChatMessage(role: .tool, content: "{}", toolCallID: "call_2"),
        ]
        let adapted = ChatTemplate.adapt(messages)
        #expect(adapted == [
            ChatMessage(role: .user, content: "Sys\n\nWeather?"),
            ChatMessage(role: .assistant, content: "Also:", toolCalls: [call, second], reasoningContent: "r1\n\nr2"),
            ChatMessage(role: .tool, content: "21", toolCallID: "call_1", name: "get_weather"),
            ChatMessage(role: .tool, content: "{}", toolCallID: "call_2"),
        ])
        let strict = try ChatTemplate(source: """
            {% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}\
            {% for m in messages %}{{ m.role }}\
            {% for c in m.tool_calls %}[{{ c.id }} {{ c.function.arguments | tojson }}]{% endfor %}\
            {{ m.tool_call_id }};{% endfor %}{{ tools | length }}
            """)
        let tools = #"[{"type": "function", "function": {"name": "g"}}]"#
        let segments = try strict.renderAdapting(messages: messages, addGenerationPrompt: false, bosToken: "",
                                                 eosToken: "", tools: tools)
        #expect(segments.map(\.text).joined()
            == #"user;assistant[call_1 {"city": "Zürich", "days": [1, 2]}][call_2 {}];toolcall_1;toolcall_2;1"#)
        // Bad input is not retried as a rejected conversation.
        #expect(throws: ChatTemplateError.invalidInput("the tools must be a JSON array, not an object")) {
            try strict.renderAdapting(messages: messages, addGenerationPrompt: false, bosToken: "", eosToken: "",
                                      tools: "{}")
        }
    }

    @Test func jinja2UndefinedPassesIterableAndCallableTests() throws {
        // Hermes 3's json_to_python_type relies on `undefined is iterable` being true, as in jinja2.
        let tests = "{{ x is iterable }} {{ x is sequence }} {{ x is callable }} {{ x is mapping }} "
            + "{{ '' is lower }} {{ 'aB1' is upper }} {{ 'ab1' is lower }}"
        #expect(try render(tests, [])
            == "True True True False False False True")
    }
}
