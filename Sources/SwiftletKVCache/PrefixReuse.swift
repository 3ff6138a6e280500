/// The number of leading tokens two sequences share.
public func commonPrefixLength(_ a: some Collection<Int>, _ b: some Collection<Int>) -> Int {
    var n = 0
    for (x, y) in zip(a, b) {
        guard x == y else { break }
        n += 1
    }
    return n
}

/// How many positions of a cache holding `cached` can be kept to evaluate `prompt`.
///
/// The longest common prefix, but always leaving at least one prompt token to evaluate (the model
/// needs a forward pass to produce logits for the next token).
public func reusablePrefixLength(cached: some Collection<Int>, prompt: some Collection<Int>) -> Int {
    let common = commonPrefixLength(cached, prompt)
    return min(common, max(0, prompt.count - 1))
}
