import Foundation
import Testing
import SwiftletChat

/// Templates that once crashed, leaked or hung the interpreter (found by the fuzzer, Docs/Fuzzing.md):
/// each now ends with a clear ChatTemplateError, or renders as Python's jinja2 does.
struct JinjaLimitsTests {
    static let hi = [ChatMessage(role: .user, content: "Hi")]

    func render(_ source: String) throws(ChatTemplateError) -> String {
        try ChatTemplate(source: source).render(messages: Self.hi, addGenerationPrompt: false, bosToken: "",
                                                eosToken: "")
    }

    func renderError(_ source: String) -> String {
        do {
            let out = try render(source)
            return "rendered: \(out.prefix(80))"
        } catch {
            return error.description
        }
    }

    @Test func deepNestingIsASyntaxError() {
        for source in [
            "{{ " + String(repeating: "(", count: 3000) + "1" + String(repeating: ")", count: 3000) + " }}",
            "{{ " + String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000) + " }}",
            String(repeating: "{% if 1 %}", count: 1500) + String(repeating: "{% endif %}", count: 1500),
            "{{ " + String(repeating: "-", count: 5000) + "1 }}",
            "{{ " + String(repeating: "not ", count: 3000) + "1 }}",
        ] {
            #expect(renderError(source).contains("nested more than 100 levels deep"))
        }
        // Nesting a real template uses is fine.
        #expect(renderError("{{ " + String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50) + " }}")
                    == "rendered: 1")
    }

    @Test func aNamespaceCannotHoldItself() {
        for source in [
            "{% set ns = namespace() %}{% set ns.x = ns %}{{ ns }}",
            "{% set ns = namespace() %}{% set ns.x = [1, {'k': ns}] %}",
            "{% set a = namespace() %}{% set b = namespace(a=a) %}{% set a.b = b %}",
        ] {
            #expect(renderError(source).contains("the value holds the namespace itself"), "\(source)")
        }
        // Holding another namespace, or the same one twice, is fine.
        #expect(renderError("{% set a = namespace(v=1) %}{% set b = namespace() %}{% set b.x = [a, a] %}{{ b.x[1].v }}")
                    == "rendered: 1")
    }

    @Test func namespaceValuesCannotNestWithoutBound() {
        let source = "{% set ns = namespace(a=1) %}{% for i in range(200) %}{% set ns.a = [ns.a] %}{% endfor %}"
        #expect(renderError(source).contains("more than 128 levels deep"))
    }

    @Test func integerArithmeticNeverTraps() throws {
        #expect(try render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }} {{ -7 % 3 }} {{ 7 % -3 }}") == "3 -4 -4 2 -2")
        #expect(try render("{{ 9007199254740993 // 1 }}") == "9007199254740993")
        #expect(try render("{{ (-9223372036854775807 - 1) % -1 }}") == "0")
        #expect(renderError("{{ (-9223372036854775807 - 1) // -1 }}").contains("integer overflow"))
        #expect(try render("{{ 2 ** 62 }} {{ (-2) ** 63 }} {{ 0 ** 9223372036854775807 }} {{ 2 ** -1 }}")
                    == "4611686018427387904 -9223372036854775808 0 0.5")
        #expect(renderError("{{ 2 ** 64 }}").contains("integer overflow"))
    }

    @Test func rangeNeverOverflows() throws {
        #expect(try render("{{ range(0, 9223372036854775807, 4611686018427387904) | list }}")
                    == "[0, 4611686018427387904]")
        #expect(try render("{{ range(9223372036854775807, 9223372036854775805, -1) | list }}")
                    == "[9223372036854775807, 9223372036854775806]")
        #expect(renderError("{{ range(-9223372036854775807, 9223372036854775807) | length }}")
                    .contains("is more than 1000000"))
    }

    @Test func growthIsCapped() {
        #expect(renderError("{{ ('x' * 1000000) * 1000000 }}").contains("longer than"))
        #expect(renderError("{{ ([1] * 100000) * 100000 }}").contains("more than 1000000 elements"))
        #expect(renderError("{{ 'x' | center(9223372036854775807) }}").contains("longer than"))
        let sixtyFour = String(repeating: "a", count: 64)
        #expect(renderError("{{ ('a' * 1000000) | replace('a', '\(sixtyFour)') }}").contains("longer than"))
        let doubling = "{% set ns = namespace(s='xxxxxxxx') %}"
            + "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        #expect(renderError(doubling).contains("longer than"))
        // Negative widths pad nothing, as Python's do.
        #expect(renderError("[{{ 'x' | center(-9223372036854775807 - 1) }}]{{ 'a\nb' | indent(-5) }}")
                    == "rendered: [x]a\nb")
    }

    @Test func loopsHaveABudget() {
        let source = "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}"
        let start = ContinuousClock.now
        #expect(renderError(source).contains("more than 100000 loop iterations and macro calls"))
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(renderError("{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}").contains("nested too deeply"))
    }

    @Test func joinIsLinear() throws {
        #expect(try render("{{ range(100000) | join(',') | length }}") == "588889")
    }
}

extension JinjaLimitsTests {
    @Test func intOfAHugeNumberIsAnError() throws {
        #expect(try render("{{ 3.7 | int }} {{ -3.7 | int }} {{ '12' | int }} {{ ' 2.9 ' | int }} {{ 'x' | int }}")
                    == "3 -3 12 2 0")
        #expect(renderError("{{ '\(String(repeating: "45", count: 20))' | int }}").contains("out of the integer range"))
        #expect(renderError("{{ 1e300 | int }}").contains("out of the integer range"))
        #expect(try render("{{ (1e308 * 10) | int }}") == "0")
    }
}
