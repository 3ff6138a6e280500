import Testing
import SwiftletSampling

struct SamplerTests {
    func params(_ configure: (inout SamplingParameters) -> Void) -> SamplingParameters {
        var p = SamplingParameters()
        configure(&p)
        return p
    }

    @Test func greedyTakesTheLargestLogit() throws {
        var s = try Sampler(parameters: .greedy)
        var logits: [Float] = [0.1, 2.5, -1, 2.4]
        #expect(s.sample(&logits, history: [Int]()) == 1)
    }

    @Test func logitBiasCanBanOrForce() throws {
        var s = try Sampler(parameters: params { $0.temperature = 0; $0.logitBias = [1: -.infinity, 2: 10] })
        var logits: [Float] = [0.1, 2.5, -1, 2.4]
        #expect(s.sample(&logits, history: [Int]()) == 2)
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegative() throws {
        var s = try Sampler(parameters: params { $0.temperature = 0; $0.repeatPenalty = 2 })
        var logits: [Float] = [3, 2, -1]
        _ = s.sample(&logits, history: [0, 2])
        #expect(logits == [1.5, 2, -2])
    }

    @Test func presenceAndFrequencyPenalties() throws {
        var s = try Sampler(parameters: params { $0.temperature = 0; $0.presencePenalty = 0.5; $0.frequencyPenalty = 0.25 })
        var logits: [Float] = [3, 2, 1]
        let token = s.sample(&logits, history: [0, 0, 0, 1])
        #expect(logits == [3 - 0.75 - 0.5, 2 - 0.25 - 0.5, 1])
        #expect(token == 0)
    }

    @Test func penaltyWindowOnlySeesTheLastTokens() throws {
        var s = try Sampler(parameters: params { $0.temperature = 0; $0.repeatPenalty = 2; $0.penaltyLastN = 1 })
        var logits: [Float] = [4, 4]
        _ = s.sample(&logits, history: [0, 1])
        #expect(logits == [4, 2])
    }

    @Test func sameSeedSameTokens() throws {
        let p = params { $0.temperature = 1; $0.topK = 0; $0.topP = 1; $0.minP = 0; $0.seed = 7 }
        var a = try Sampler(parameters: p), b = try Sampler(parameters: p)
        let base: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        var ta: [Int] = [], tb: [Int] = []
        for _ in 0..<100 {
            var la = base, lb = base
            ta.append(a.sample(&la, history: [Int]()))
            tb.append(b.sample(&lb, history: [Int]()))
        }
        #expect(ta == tb)
        #expect(Set(ta).count > 5)
        var c = try Sampler(parameters: params { $0 = p; $0.seed = 8 })
        let tc = (0..<100).map { _ in var l = base; return c.sample(&l, history: [Int]()) }
        #expect(tc != ta)
    }

    @Test func topKLimitsTheChoices() throws {
        var s = try Sampler(parameters: params { $0.temperature = 5; $0.topK = 2; $0.topP = 1; $0.minP = 0 })
        let base: [Float] = [1, 5, 0, 4.9, 0.5]
        for _ in 0..<200 {
            var l = base
            #expect([1, 3].contains(s.sample(&l, history: [Int]())))
        }
    }

    @Test func topPKeepsTheNucleus() throws {
        // Probabilities ≈ 0.84, 0.11, 0.04…: top-p 0.5 leaves only the first.
        var s = try Sampler(parameters: params { $0.temperature = 1; $0.topK = 0; $0.topP = 0.5; $0.minP = 0 })
        for _ in 0..<100 {
            var l: [Float] = [0, 2, 4, 1]
            #expect(s.sample(&l, history: [Int]()) == 2)
        }
    }

    @Test func minPDropsUnlikelyTokens() throws {
        var s = try Sampler(parameters: params { $0.temperature = 1; $0.topK = 0; $0.topP = 1; $0.minP = 0.5 })
        for _ in 0..<100 {
            var l: [Float] = [3, 2.9, 0, -5]   // exp(-0.1) ≈ 0.9 ≥ 0.5; exp(-3) < 0.5
            #expect([0, 1].contains(s.sample(&l, history: [Int]())))
        }
    }

    @Test func typicalKeepsTokensNearTheEntropy() throws {
        var s = try Sampler(parameters: params { $0.temperature = 1; $0.topK = 0; $0.topP = 1; $0.minP = 0; $0.typicalP = 0.2 })
        var seen = Set<Int>()
        for _ in 0..<100 {
            var l: [Float] = [5, 0, 0, 0, 0, 0]
            seen.insert(s.sample(&l, history: [Int]()))
        }
        #expect(seen.count == 1)
    }

    @Test func invalidParametersAreErrors() {
        #expect(throws: SamplingError.self) { try Sampler(parameters: params { $0.temperature = -1 }) }
        #expect(throws: SamplingError.self) { try Sampler(parameters: params { $0.topP = 1.5 }) }
        #expect(throws: SamplingError.self) { try Sampler(parameters: params { $0.topK = -3 }) }
        #expect(throws: SamplingError.self) { try Sampler(parameters: params { $0.minP = .nan }) }
        #expect(throws: SamplingError.self) { try Sampler(parameters: params { $0.logitBias = [-1: 1] }) }
    }
}

struct StopStringTests {
    @Test func stopAcrossTokenBoundaries() {
        var m = StopStringMatcher(stops: ["</s>", "STOP"])
        #expect(m.feed("Hello <") == ("Hello ", false))
        #expect(m.feed("/") == ("", false))
        #expect(m.feed("s> after") == ("", true))
        #expect(m.feed("more") == ("", true))
        #expect(m.flush() == "")
    }

    @Test func heldTextIsReleasedWhenItIsNotAStop() {
        var m = StopStringMatcher(stops: ["STOP"])
        #expect(m.feed("a ST") == ("a ", false))
        #expect(m.feed("AY") == ("STAY", false))
        #expect(m.feed("ST") == ("", false))
        #expect(m.flush() == "ST")
    }

    @Test func earliestStopWins() {
        var m = StopStringMatcher(stops: ["cd", "b"])
        #expect(m.feed("abcd") == ("a", true))
    }

    @Test func newlineStopInsideCRLF() {
        var m = StopStringMatcher(stops: ["\n"])
        #expect(m.feed("line\r\nnext") == ("line\r", true))
    }

    @Test func noStopsPassesEverythingThrough() {
        var m = StopStringMatcher(stops: [])
        #expect(m.feed("abc") == ("abc", false))
    }
}

struct ConstrainedSamplerTests {
    @Test func keepsAnAllowedChoiceAndResamplesADisallowedOne() throws {
        var s = try Sampler(parameters: .greedy)
        var logits: [Float] = [0.1, 2.5, -1, 2.4]
        let free = s.sample(&logits, history: [Int](), isAllowed: { _ in true }, restrict: { _ in Issue.record() })
        #expect(free == 1)
        logits = [0.1, 2.5, -1, 2.4]
        let even = s.sample(&logits, history: [Int](), isAllowed: { $0 % 2 == 0 }, restrict: { l in
            for i in l.indices where i % 2 != 0 { l[i] = -.infinity }
        })
        #expect(even == 0)
    }

    @Test func nothingAllowedGivesNil() throws {
        var s = try Sampler(parameters: params())
        var logits: [Float] = [1, 2, 3]
        #expect(s.sample(&logits, history: [Int](), isAllowed: { _ in false }, restrict: { l in
            for i in l.indices { l[i] = -.infinity }
        }) == nil)
    }

    func params() -> SamplingParameters { SamplingParameters() }
}
