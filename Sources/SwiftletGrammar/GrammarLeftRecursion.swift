extension Grammar {
    /// The first rule found left-recursive, as llama.cpp's `llama_grammar_detect_left_recursion` finds it
    /// (rules tried in id order), or nil.
    ///
    /// Like llama.cpp, a rule counts as possibly empty only when one of its alternatives is empty as written
    /// (not through the rules it references), and the search follows a reference past a leftmost
    /// reference only while that rule is possibly empty in this sense; so this rejects exactly the grammars
    /// llama.cpp rejects.
    static func leftRecursiveRule(_ rules: [[Element]]) -> Int? {
        var visited = [Bool](repeating: false, count: rules.count)
        var inProgress = [Bool](repeating: false, count: rules.count)
        var mayBeEmpty = [Bool](repeating: false, count: rules.count)
        // A rule once explored without finding recursion never finds it later (any cycle through it would
        // have been met during that first exploration), so `visited` also cuts repeated explorations, which
        // llama.cpp repeats at exponential cost on some grammars.
        func detect(_ index: Int) -> Bool {
            if inProgress[index] { return true }
            if visited[index] { return false }
            inProgress[index] = true
            let rule = rules[index]
            var atRuleStart = true
            for element in rule {
                if element.isEndOfSequence {
                    if atRuleStart {
                        mayBeEmpty[index] = true
                        break
                    }
                    atRuleStart = true
                } else {
                    atRuleStart = false
                }
            }
            var recurse = true
            for element in rule {
                if element.kind == .ruleReference && recurse {
                    let target = Int(element.value)
                    if detect(target) { return true }
                    if !mayBeEmpty[target] { recurse = false }
                } else if element.isEndOfSequence {
                    recurse = true
                } else {
                    recurse = false
                }
            }
            inProgress[index] = false
            visited[index] = true
            return false
        }
        for index in rules.indices where !visited[index] {
            if detect(index) {
                // The rule left in progress deepest is where the cycle closed; llama.cpp reports the outer
                // index, and so does this.
                return index
            }
        }
        return nil
    }
}
