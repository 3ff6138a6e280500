import Foundation

/// `strftime_now(format)`, the global Hugging Face gives templates (`datetime.now().strftime(format)`)
/// and llama.cpp too (`std::strftime` on local time): Llama 3.x writes today's date with it.
///
/// Python's `strftime` hands the format to the C library, so this follows glibc in the C locale:
/// English names, its padding flags (`%-d`, `%_d`, `%0e`, `%^a`), and a directive it does not know
/// left as written.
enum JinjaStrftime {
    /// The `strftime_now` function for a render at time `now`, read in `timeZone`.
    static func function(now: Date, timeZone: TimeZone = .current) -> JinjaFunction {
        JinjaFunction(name: "strftime_now") { args, _ throws(ChatTemplateError) in
            guard args.count == 1, case .string(let pattern) = args[0] else {
                throw .render("strftime_now() takes one string, the format")
            }
            return .string(JinjaStrftime.format(pattern.text, now, timeZone: timeZone))
        }
    }

    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    /// The broken-down time `strftime` formats (C's `struct tm`).
    private struct Time {
        var year, month, day, hour, minute, second, microsecond: Int
        /// 0 = Sunday.
        var weekday: Int
        /// 0-based day of the year.
        var yearDay: Int
        var utcOffsetSeconds: Int
        var zoneAbbreviation: String
        var epochSeconds: Int
    }

    private static func time(_ date: Date, _ timeZone: TimeZone) -> Time {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday],
                                        from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        let yearDay = cumulative[max(0, min(11, month - 1))] + day - 1 + (isLeap(year) && month > 2 ? 1 : 0)
        let seconds = date.timeIntervalSince1970.rounded(.down)
        return Time(year: year, month: month, day: day, hour: c.hour ?? 0, minute: c.minute ?? 0,
                    second: c.second ?? 0, microsecond: min(999_999, ((c.nanosecond ?? 0) + 500) / 1000),
                    weekday: ((c.weekday ?? 1) - 1 + 7) % 7, yearDay: yearDay,
                    utcOffsetSeconds: timeZone.secondsFromGMT(for: date),
                    zoneAbbreviation: timeZone.abbreviation(for: date) ?? "",
                    epochSeconds: seconds.isFinite && abs(seconds) < 1e18 ? Int(seconds) : 0)
    }

    private static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    /// The weekday (0 = Sunday) of 1 January of year `y` in the proleptic Gregorian calendar.
    private static func januaryFirstWeekday(_ y: Int) -> Int {
        let p = y - 1
        return ((1 + 5 * (p % 4) + 4 * (p % 100) + 6 * (p % 400)) % 7 + 7) % 7
    }

    /// 53 when the year starts on a Thursday, or on a Wednesday in a leap year; else 52.
    private static func isoWeeks(in y: Int) -> Int {
        let j = januaryFirstWeekday(y)
        return j == 4 || (isLeap(y) && j == 3) ? 53 : 52
    }

    /// `date` formatted as C's `strftime(format)` in the C locale.
    static func format(_ format: String, _ date: Date, timeZone: TimeZone = .current) -> String {
        render(format, time(date, timeZone), depth: 0)
    }

    private static func render(_ format: String, _ t: Time, depth: Int) -> String {
        var out = ""
        let chars = Array(format)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "%", i + 1 < chars.count else {
                out.append(c)
                i += 1
                continue
            }
            // glibc's flags: '-' no padding, '_' spaces, '0' zeros, '^' upper case, '#' swap case.
            var j = i + 1
            var pad: Character?, upper = false
            while j < chars.count, "-_0^#".contains(chars[j]) {
                switch chars[j] {
                case "^": upper = true
                case "#": break
                default: pad = chars[j]
                }
                j += 1
            }
            guard j < chars.count, let piece = directive(chars[j], t, pad: pad, depth: depth) else {
                // Unknown (or cut short): written as it stands, as glibc does.
                out += String(chars[i..<min(j + 1, chars.count)])
                i = j + 1
                continue
            }
            out += upper ? piece.uppercased() : piece
            i = j + 1
        }
        return out
    }

    /// One conversion; nil for a directive glibc does not know.
    private static func directive(_ d: Character, _ t: Time, pad: Character?, depth: Int) -> String? {
        func number(_ n: Int, _ width: Int, _ defaultPad: Character = "0") -> String {
            let digits = String(abs(n))
            let fill = pad == "-" ? nil : (pad == "_" ? " " : (pad == "0" ? "0" : defaultPad))
            let padded = fill.map { String(repeating: $0, count: max(0, width - digits.count - (n < 0 ? 1 : 0))) } ?? ""
            return n < 0 ? (fill == "0" ? "-" + padded + digits : padded + "-" + digits) : padded + digits
        }
        func nested(_ f: String) -> String { depth < 2 ? render(f, t, depth: depth + 1) : "" }
        let hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12
        // ISO 8601 week-based year and week (Monday first; week 1 holds the year's first Thursday).
        func isoWeek() -> (year: Int, week: Int) {
            let week = (t.yearDay - (t.weekday + 6) % 7 + 10) / 7
            if week < 1 { return (t.year - 1, isoWeeks(in: t.year - 1)) }
            if week > isoWeeks(in: t.year) { return (t.year + 1, 1) }
            return (t.year, week)
        }
        switch d {
        case "a": return String(weekdays[t.weekday].prefix(3))
        case "A": return weekdays[t.weekday]
        case "b", "h": return String(months[t.month - 1].prefix(3))
        case "B": return months[t.month - 1]
        case "c": return nested("%a %b %e %H:%M:%S %Y")
        case "C": return number(t.year / 100, 2)
        case "d": return number(t.day, 2)
        case "D", "x": return nested("%m/%d/%y")
        case "e": return number(t.day, 2, " ")
        case "f": return number(t.microsecond, 6)
        case "F": return nested("%Y-%m-%d")
        case "G": return number(isoWeek().year, 1)
        case "g": return number(((isoWeek().year % 100) + 100) % 100, 2)
        case "H": return number(t.hour, 2)
        case "I": return number(hour12, 2)
        case "j": return number(t.yearDay + 1, 3)
        case "k": return number(t.hour, 2, " ")
        case "l": return number(hour12, 2, " ")
        case "m": return number(t.month, 2)
        case "M": return number(t.minute, 2)
        case "n": return "\n"
        case "p": return t.hour < 12 ? "AM" : "PM"
        case "P": return t.hour < 12 ? "am" : "pm"
        case "r": return nested("%I:%M:%S %p")
        case "R": return nested("%H:%M")
        case "s": return String(t.epochSeconds)
        case "S": return number(t.second, 2)
        case "t": return "\t"
        case "T", "X": return nested("%H:%M:%S")
        case "u": return String(t.weekday == 0 ? 7 : t.weekday)
        case "U": return number((t.yearDay + 7 - t.weekday) / 7, 2)
        case "V": return number(isoWeek().week, 2)
        case "w": return String(t.weekday)
        case "W": return number((t.yearDay + 7 - (t.weekday + 6) % 7) / 7, 2)
        case "y": return number(((t.year % 100) + 100) % 100, 2)
        case "Y": return number(t.year, 1)
        case "z":
            let m = abs(t.utcOffsetSeconds) / 60
            return (t.utcOffsetSeconds < 0 ? "-" : "+") + number(m / 60, 2) + number(m % 60, 2)
        case "Z": return t.zoneAbbreviation
        case "%": return "%"
        default: return nil
        }
    }
}
