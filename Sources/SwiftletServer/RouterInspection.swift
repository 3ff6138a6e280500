import Hummingbird

/// Reads which routes a Hummingbird router already answers, so that mounting Swiftlet's routes over one of
/// them is an error instead of Hummingbird's precondition failure (`addResponder`) at start-up.
///
/// A `Router` lists its routes (`Router.routes`); a `RouterGroup` keeps its path and parent privately, read
/// here by reflection. Another kind of `RouterMethods` is not inspected.
enum RouterInspection {
    static func routes<Context: RequestContext>(
        of methods: some RouterMethods<Context>
    ) -> (prefix: String, routes: [(path: String, method: HTTPRequest.Method)])? {
        var prefix = ""
        var current: Any = methods
        for _ in 0..<64 {
            if let router = current as? Router<Context> {
                return (prefix, router.routes.map { (RouterPath($0.path.description).description, $0.method) })
            }
            let mirror = Mirror(reflecting: current)
            guard let path = mirror.descendant("path") as? RouterPath, let parent = mirror.descendant("parent") else {
                return nil
            }
            prefix = join(path.description, prefix)
            current = parent
        }
        return nil
    }

    /// `prefix` and `path` as one normalised path (`"/llm"`, `"/health"` → `"/llm/health"`).
    static func join(_ prefix: String, _ path: String) -> String {
        RouterPath(prefix).appendingPath(RouterPath(path)).description
    }
}
