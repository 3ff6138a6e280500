#!/usr/bin/env python3
"""Records llama.cpp's greedy grammar-constrained outputs on SmolLM2-135M-Instruct Q4_1 into
Fixtures/reference/grammar/NN_{name}.json, one file per case, and the grammars llama.cpp refuses into
Fixtures/reference/grammar/rejected.json.

    python3 Scripts/record-grammar-references.py [--server http://127.0.0.1:8090] [--model FILE] [--out DIR] \
        [--server-log FILE]

It builds and starts nothing: a llama-server must already be listening, started as
    llama-server -m SmolLM2-135M-Instruct.Q4_1.gguf --host 127.0.0.1 --port 8090 -c 2048 -np 1 -t 2 --no-webui
For each case it POSTs /completion with
    {"prompt", "grammar" | "json_schema", "n_predict", "temperature": 0, "return_tokens": true,
     "cache_prompt": false}
(each request independent of the one before), runs it a second time to check the answer repeats, and asks
/tokenize for the prompt ids with add_special true (as /completion tokenizes: special tokens parsed,
BOS added only if the model asks for it; SmolLM2 does not). Chat prompts are rendered from the GGUF's
tokenizer.chat_template with jinja2 and checked equal to the server's /apply-template. json_schema
outputs are validated with the `jsonschema` package. Each refused grammar must get HTTP 400; the parser's
reason is read from the server's log (--server-log, the server's stderr). Finally it times two prompts
with and without a grammar (the server's `timings`) and prints the numbers.
"""
import argparse
import json
import os
import re
import statistics
import sys
import urllib.request

import jinja2
import jsonschema

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.expanduser("~/.cache/swiftlet/models/SmolLM2-135M-Instruct.Q4_1.gguf")

# ---- grammars (GBNF) -------------------------------------------------------------------------------------

JSON_GBNF = r'''root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
'''

LIST_GBNF = r'''root ::= item{3,5}
item ::= "- " [A-Z] [a-z ]{2,24} "\n"
'''

ENUM_GBNF = r'''root ::= "positive" | "negative" | "neutral"
'''

CHAR_CLASSES_GBNF = r'''root  ::= line{6}
line  ::= name " = " value "\n"
name  ::= [a-z_] [a-z0-9_]{0,15}
value ::= [0-9]+ | "\"" [^"\n]{1,30} "\"" | [A-Z] [^\n=;#]{0,20}
'''

ARITHMETIC_GBNF = r'''root   ::= expr " = " num
expr   ::= term (ws [-+] ws term)*
term   ::= factor (ws [*/] ws factor)*
factor ::= num | "(" ws expr ws ")"
num    ::= "-"? [0-9]{1,6} ("." [0-9]{1,3})?
ws     ::= " "?
'''

NON_ASCII_GBNF = r'''root     ::= french ", " japanese ", " emoji
french   ::= [A-Za-z]{0,6} [éèêàçù] [a-zéèêàçù]{0,8}
japanese ::= [ぁ-ヿ一-鿿]{1,4}
emoji    ::= [🌀-🫿]
'''

EARLY_END_GBNF = r'''root ::= [A-Z] [a-zA-Z0-9 ,.'-]*
'''

DATETIME_GBNF = r'''root  ::= date "T" time "Z"
date  ::= year "-" month "-" day
year  ::= [12] [0-9]{3}
month ::= "0" [1-9] | "1" [0-2]
day   ::= "0" [1-9] | [12] [0-9] | "3" [01]
time  ::= hour ":" [0-5] [0-9] (":" [0-5] [0-9])?
hour  ::= [01] [0-9] | "2" [0-3]
'''

CHESS_GBNF = r'''root   ::= " " move " " move (" " number ". " move " " move){2,3}
number ::= [1-9]
move   ::= (castle | piece? [a-h]? "x"? [a-h] [1-8] ("=" [QRBN])?) [+#]?
castle ::= "O-O" "-O"?
piece  ::= [KQRBN]
'''

ANY_CHAR_GBNF = r'''root ::= .{10,40} "\""
'''

ESCAPES_GBNF = r'''root ::= "Caf\u00e9 " [\x41-\x5A] [a-z\x20]{2,20} "\n" "\x2D\t" [^\x00-\x1F\x7F]{3,30} "\n" price
price ::= "Price: \x24" [\x30-\x39]{1,3} ("." [\x30-\x39]{2})? "\r"? "\n"
'''

COMMENTS_GBNF = r'''# A greeting, with comments everywhere.
root ::= greeting ", " name "!" (  # a comment inside a group
    " " sentence                    # inside parentheses a rule may span lines
  )?

# names are capitalised
greeting ::= "Hello" | "Hi" |  # after a bar the next line continues the rule
  "Dear"                        # ("Bonjour" | is commented out)
name ::=  # the body may start on the line after ::=
  [A-Z] [a-z]+ # at least two letters
sentence ::= [A-Z] [a-z ,']* "."  # ends at the first full stop
'''

NESTED_GBNF = r'''root     ::= ("Weather" (" report")? ": ")? sentence (" " sentence){0,2}
sentence ::= word ((",")? " " word)+ [.!]
word     ::= [A-Za-z]{1,} ("'" [a-z]+)?
'''

# ---- JSON schemas ----------------------------------------------------------------------------------------

SCHEMA_OBJECT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "email": {"type": "string"},
        "city": {"type": "string"},
    },
    "required": ["name", "age"],
}

SCHEMA_ENUM = {
    "type": "object",
    "properties": {
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
        "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
    },
    "required": ["sentiment", "confidence"],
}

SCHEMA_ARRAY = {
    "type": "array",
    "items": {"type": "string", "maxLength": 20},
    "minItems": 2,
    "maxItems": 4,
}

SCHEMA_STRING = {
    "type": "object",
    "properties": {
        "zip": {"type": "string", "pattern": "^[0-9]{5}(-[0-9]{4})?$"},
        "username": {"type": "string", "minLength": 3, "maxLength": 12},
    },
    "required": ["zip", "username"],
}

SCHEMA_INTEGER = {
    "type": "object",
    "properties": {
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "length_minutes": {"type": "integer", "exclusiveMinimum": 0},
    },
    "required": ["year", "rating"],
}

SCHEMA_ANYOF = {
    "anyOf": [
        {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]},
        {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
    ]
}

SCHEMA_REF = {
    "$defs": {
        "point": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
            "required": ["x", "y"],
        }
    },
    "type": "object",
    "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point"}},
    "required": ["start", "end"],
}


def user(text):
    return [{"role": "user", "content": text}]


# name, what it exercises, raw prompt or chat messages, grammar or schema, n_predict
CASES = [
    ("json_object", "the JSON grammar of llama.cpp's grammars/json.gbnf, written out again",
     user("Give me a JSON object describing a cat with its name, age and color."), ("grammar", JSON_GBNF), 96),
    ("list_repetition", "a list of 3 to 5 items by {m,n}, each item with a bounded class repetition",
     "Things to pack for a beach trip:\n", ("grammar", LIST_GBNF), 64),
    ("enum_words", "an alternation of literal words; the grammar completes, so only an end-of-generation token follows",
     user('Is this review positive, negative or neutral? "The food was cold and the waiter was rude."'),
     ("grammar", ENUM_GBNF), 48),
    ("char_classes", "character classes with ranges and negation, {0,15}, {1,30}, {6}; n_predict runs out "
     "before the grammar completes",
     "# settings.py\nwidth = 640\nheight = 480\n", ("grammar", CHAR_CLASSES_GBNF), 48),
    ("arithmetic", "a recursive arithmetic expression grammar ending in = number",
     "Q: What is 12 times 7 plus 5?\nA: ", ("grammar", ARITHMETIC_GBNF), 48),
    ("non_ascii", "classes of non-ASCII characters (accented Latin, kana and CJK, emoji): multi-byte UTF-8 through "
     "byte-level tokens",
     user("Write one French word with an accent, one Japanese word, and one emoji."), ("grammar", NON_ASCII_GBNF), 48),
    ("early_end", "a grammar that may end after any character: the model stops by an end-of-generation token "
     "while the grammar could still continue",
     user("What is the capital of France?"), ("grammar", EARLY_END_GBNF), 64),
    ("datetime", "an ISO 8601 date-time with alternatives of ranges and an optional seconds group",
     "Neil Armstrong stepped onto the Moon at (ISO 8601, UTC): ", ("grammar", DATETIME_GBNF), 48),
    ("chess_moves", "chess moves in algebraic notation: optional pieces, captures, castling, promotion, {2,3}",
     "The Ruy Lopez opening: 1. e4 e5 2. Nf3 Nc6 3.", ("grammar", CHESS_GBNF), 64),
    ("any_char", "the any-character dot with a bound .{10,40}, then a closing quote",
     "A famous quote by Albert Einstein:\n\"", ("grammar", ANY_CHAR_GBNF), 64),
    ("escapes", "escapes in literals and classes: \\u00e9, \\x41-\\x5A, \\x20, \\t, \\r, \\n, \\x00-\\x1F negated",
     "Menu of the day\n\n", ("grammar", ESCAPES_GBNF), 64),
    ("comments", "comments after rules, on their own lines, inside an alternation, and continuation lines",
     "Write a friendly greeting to Alice.\n", ("grammar", COMMENTS_GBNF), 48),
    ("nested_optional", "nested optional groups ?, * and +, {0,2}, {1,}",
     user("Describe the weather today in one or two sentences."), ("grammar", NESTED_GBNF), 64),
    ("schema_object", "json_schema: an object with required and optional properties",
     user("Create a user profile for a person named Anna who is 31 years old and lives in Paris. Answer in JSON."),
     ("json_schema", SCHEMA_OBJECT), 96),
    ("schema_enum", "json_schema: enum, untyped and typed",
     user('Classify the sentiment of "I love this phone, the battery lasts forever." Answer in JSON.'),
     ("json_schema", SCHEMA_ENUM), 64),
    ("schema_array", "json_schema: an array of strings with minItems 2, maxItems 4, string maxLength 20",
     user("List three fruits as a JSON array."), ("json_schema", SCHEMA_ARRAY), 64),
    ("schema_string", "json_schema: a string pattern with a {5} count and optional group, minLength/maxLength",
     user("Make up a US zip code and a username for a new account. Answer in JSON."),
     ("json_schema", SCHEMA_STRING), 64),
    ("schema_integer", "json_schema: integer minimum/maximum and exclusiveMinimum",
     user("Give the release year of the movie Titanic, your rating from 1 to 5 and its length. Answer in JSON."),
     ("json_schema", SCHEMA_INTEGER), 64),
    ("schema_anyof", "json_schema: anyOf of two objects",
     user("What is 6 times 7? Answer in JSON."), ("json_schema", SCHEMA_ANYOF), 64),
    ("schema_ref", "json_schema: $ref to $defs, used twice",
     user("Give a line segment from the origin to the point (3, 4) as JSON."), ("json_schema", SCHEMA_REF), 96),
]

# Grammars llama.cpp refuses when the request arrives (HTTP 400 "failed to parse grammar"); the reason is
# only in the server's log, read with --server-log.
REJECTED = [
    ("continuation_line", 'root ::= "a"\n  | "b"\n'),
    ("undefined_rule", "root ::= foo\n"),
    ("unknown_escape", 'root ::= "\\q"\n'),
    ("bad_hex_escape", 'root ::= "\\xZZ"\n'),
    ("left_recursion", 'root ::= root "a" | "b"\n'),
    ("indirect_left_recursion", 'root ::= x\nx ::= y "a"\ny ::= x | "b"\n'),
    ("nullable_left_recursion", 'root ::= x "a"\nx ::= x? "b"\n'),
    ("no_root", 'start ::= "a"\n'),
    ("unterminated_literal", 'root ::= "abc\n'),
    ("unterminated_class", "root ::= [a-z\n"),
    ("unclosed_group", 'root ::= ( "a" \n'),
    ("second_definition_on_a_line", 'root ::= "a" ::= "b"\n'),
    ("repetition_without_item", 'root ::= *"a"\n'),
    ("repetition_without_minimum", 'root ::= "a"{,2}\n'),
    ("repetition_over_2000", 'root ::= "a"{2001}\n'),
    ("repetition_product_over_2000", 'root ::= "a"{3}{700}\n'),
]

REQUEST = {"temperature": 0, "return_tokens": True, "cache_prompt": False}


def post(server, path, body):
    req = urllib.request.Request(server + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def chat_template(model):
    import gguf
    reader = gguf.GGUFReader(model)
    f = reader.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode()


def render(template, messages):
    env = jinja2.Environment(trim_blocks=False, lstrip_blocks=False)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token="<|im_start|>", eos_token="<|im_end|>")


def compact(obj):
    """One key a line, each value on one line, so that the files stay short and diff well."""
    if isinstance(obj, list):
        return "[\n" + ",\n".join(compact(x) for x in obj) + "\n]\n"
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in obj.items()) + "\n}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="http://127.0.0.1:8090")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--server-log", help="the server's log file, to read why a grammar is rejected")
    ap.add_argument("--out", default=os.path.join(ROOT, "Fixtures", "reference", "grammar"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    template = chat_template(args.model)
    props = json.loads(urllib.request.urlopen(args.server + "/props").read())
    print("server build:", props.get("build_info"))

    for i, (name, what, prompt_in, (kind, constraint), n_predict) in enumerate(CASES, 1):
        case = {"name": name, "what": what}
        if isinstance(prompt_in, list):
            prompt = render(template, prompt_in)
            served = post(args.server, "/apply-template", {"messages": prompt_in})["prompt"]
            if served != prompt:
                sys.exit(f"{name}: jinja2 rendering differs from /apply-template:\n{prompt!r}\n{served!r}")
            case["messages"] = prompt_in
        else:
            prompt = prompt_in
        body = dict(REQUEST, prompt=prompt, n_predict=n_predict)
        body[kind] = constraint
        first = post(args.server, "/completion", body)
        again = post(args.server, "/completion", body)
        if first["tokens"] != again["tokens"]:
            sys.exit(f"{name}: two runs differ: {first['tokens']} vs {again['tokens']}")
        prompt_ids = post(args.server, "/tokenize", {"content": prompt, "add_special": True})["tokens"]
        if len(prompt_ids) != first["tokens_evaluated"]:
            sys.exit(f"{name}: /tokenize gave {len(prompt_ids)} ids, /completion evaluated "
                     f"{first['tokens_evaluated']}")
        case["prompt"] = prompt
        case["prompt_ids"] = prompt_ids
        case[kind] = constraint
        if kind == "json_schema":
            # the GBNF the server's converter made (the request's generation_settings echo it)
            case["converted_grammar"] = first["generation_settings"]["grammar"]
        case["n_predict"] = n_predict
        case["tokens"] = first["tokens"]
        case["text"] = first["content"]
        case["stop_type"] = first["stop_type"]
        case["tokens_predicted"] = first["tokens_predicted"]
        if kind == "json_schema":
            try:
                jsonschema.validate(json.loads(first["content"]), constraint)
                case["validates"] = True
            except (json.JSONDecodeError, jsonschema.ValidationError) as e:
                print(f"  {name}: does not validate: {e}".splitlines()[0])
                case["validates"] = False
        path = os.path.join(args.out, f"{i:02d}_{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(compact(case) + "\n")
        print(f"{i:02d} {name:18s} {first['stop_type']:5s} {first['tokens_predicted']:3d}/{n_predict} "
              f"{first['content']!r}")

    rejected = []
    for name, grammar in REJECTED:
        start = os.path.getsize(args.server_log) if args.server_log else 0
        try:
            post(args.server, "/completion", dict(REQUEST, prompt="x", n_predict=4, grammar=grammar))
            sys.exit(f"rejected case {name} was accepted")
        except urllib.error.HTTPError as e:
            status, message = e.code, json.loads(e.read())["error"]["message"]
        reason = None
        if args.server_log:
            with open(args.server_log, encoding="utf-8", errors="replace") as f:
                f.seek(start)
                for line in f:
                    m = re.search(r"parse: error parsing grammar: (.*)|\bE (unsupported grammar.*|grammar does not.*)",
                                  line)
                    if m:
                        reason = (m.group(1) or m.group(2)).strip()
                        break
        rejected.append({"name": name, "grammar": grammar, "http_status": status, "message": message,
                         "parser_error": reason})
        print(f"rejected {name}: {reason}")
    with open(os.path.join(args.out, "rejected.json"), "w", encoding="utf-8") as f:
        f.write(compact(rejected))

    # timing context: tokens/s with and without a grammar (best and median of 9 runs each; the best is the
    # least disturbed by other work on the machine). The story prompt runs 64 tokens with end-of-generation
    # ignored; its grammar needs 300 characters, so it never completes.
    story = "Once upon a time, in a small village by the sea,"
    chat = render(template, user("Give me a JSON object describing a cat with its name, age and color."))
    runs = [
        ("story, no grammar", dict(prompt=story, ignore_eos=True)),
        ("story, class grammar", dict(prompt=story, ignore_eos=True,
                                      grammar=r"""root ::= [A-Za-z0-9 ,.;:'"!?()\n-]{300}""")),
        ("json_object prompt, no grammar", dict(prompt=chat)),
        ("json_object prompt, JSON grammar", dict(prompt=chat, grammar=JSON_GBNF)),
    ]
    rates = {label: [] for label, _ in runs}
    for _ in range(9):  # interleaved, so that other work on the machine disturbs every variant alike
        for label, extra in runs:
            r = post(args.server, "/completion", dict(REQUEST, n_predict=64, **extra))
            rates[label].append(r["timings"]["predicted_per_second"])
            rates[label + " n"] = r["timings"]["predicted_n"]
    for label, _ in runs:
        x = rates[label]
        print(f"timing {label}: best {max(x):.1f}, median {statistics.median(x):.1f} predicted tokens/s "
              f"({rates[label + ' n']} tokens)")


if __name__ == "__main__":
    main()
