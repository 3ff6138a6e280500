/// The rule for a JSON string that is none of the given strings, as llama.cpp's `_not_strings` writes it
/// from a trie of the strings' characters (children in code point order). It keys the additional
/// properties of an object, so that they cannot repeat a named property:
///
///     ["and", "also"] → ["] ( [a] ([l] ([s] ([o] char+ | [^"o] char*) | [^"s] char*) | [n] ([d] char+ |
///                       [^"d] char*) | [^"ln] char*) | [^"a] char* )? ["]
///
/// As in llama.cpp, characters go into the brackets as they are (not escaped), and a string that is a
/// prefix of another one is still allowed.
struct JSONSchemaExcludedKeys {
    private struct Node {
        var children: [UInt32: Int] = [:]
        var isEnd = false
    }

    private var nodes = [Node()]
    private var text = ""

    static func rule(excluding strings: [String], charRule: String) -> String {
        var trie = JSONSchemaExcludedKeys()
        for s in strings { trie.insert(s) }
        trie.text = "[\"] ( "
        trie.write(0, charRule: charRule)
        trie.text += " )"
        if !trie.nodes[0].isEnd { trie.text += "?" }
        trie.text += " [\"]"
        return trie.text
    }

    private mutating func insert(_ word: String) {
        var current = 0
        for scalar in word.unicodeScalars {
            if let next = nodes[current].children[scalar.value] {
                current = next
            } else {
                nodes.append(Node())
                nodes[current].children[scalar.value] = nodes.count - 1
                current = nodes.count - 1
            }
        }
        nodes[current].isEnd = true
    }

    private mutating func write(_ index: Int, charRule: String) {
        let children = nodes[index].children.sorted { $0.key < $1.key }
        var rejects = ""
        for (n, (codePoint, child)) in children.enumerated() {
            let c = Unicode.Scalar(codePoint).map { String(Character($0)) } ?? ""
            rejects += c
            if n > 0 { text += " | " }
            text += "[" + c + "]"
            if !nodes[child].children.isEmpty {
                text += " ("
                write(child, charRule: charRule)
                text += ")"
            } else {
                text += " " + charRule + "+"
            }
        }
        if !children.isEmpty { text += " | [^\"" + rejects + "] " + charRule + "*" }
    }
}
