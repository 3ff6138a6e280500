"""`swiftlet generate --grammar-file / --json-schema` against llama.cpp's greedy grammar-constrained tokens
(Fixtures/reference/grammar), and its errors for grammars llama.cpp refuses."""
import json

import pytest

from conftest import FIXTURES, SMOLLM2, model, run

CASES = sorted((FIXTURES / "reference/grammar").glob("[0-9]*.json"))
EOG = {0, 2, 4}  # SmolLM2's end-of-generation tokens, as llama.cpp lists them


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_generate_picks_llama_cpps_tokens(swiftlet, tmp_path, case):
    ref = json.loads(case.read_text(encoding="utf-8"))
    args = [swiftlet, "generate", "--model", model(SMOLLM2), "--prompt", ref["prompt"], "-n", str(ref["n_predict"]),
            "--json"]
    if "json_schema" in ref:
        (tmp_path / "schema.json").write_text(json.dumps(ref["json_schema"]), encoding="utf-8")
        args += ["--json-schema", str(tmp_path / "schema.json")]
    else:
        (tmp_path / "grammar.gbnf").write_text(ref["grammar"], encoding="utf-8")
        args += ["--grammar-file", str(tmp_path / "grammar.gbnf")]
    out = json.loads(run(*args).stdout)
    assert [int(t) for t in out["prompt_tokens"]] == ref["prompt_ids"]
    assert [int(t) for t in out["tokens"]] == ref["tokens"]


REJECTED = json.loads((FIXTURES / "reference/grammar/rejected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c["name"])
def test_grammars_llama_cpp_refuses_are_errors(swiftlet, tmp_path, case):
    (tmp_path / "bad.gbnf").write_text(case["grammar"], encoding="utf-8")
    r = run(swiftlet, "generate", "--model", model(SMOLLM2), "--prompt", "Hi", "-n", "4",
            "--grammar-file", str(tmp_path / "bad.gbnf"), check=False)
    assert r.returncode == 1, r.stdout
    assert r.stderr.startswith(b"error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_syntax_errors_point_at_line_and_column(swiftlet, tmp_path):
    (tmp_path / "bad.gbnf").write_text('root ::= item+\nitem ::= [a-z] "x\n', encoding="utf-8")
    r = run(swiftlet, "generate", "--model", model(SMOLLM2), "--prompt", "Hi", "-n", "4",
            "--grammar-file", str(tmp_path / "bad.gbnf"), check=False)
    assert r.returncode == 1
    assert b"line 2, column" in r.stderr, r.stderr


def test_both_constraints_at_once_is_an_error(swiftlet, tmp_path):
    (tmp_path / "g.gbnf").write_text('root ::= "a"', encoding="utf-8")
    (tmp_path / "s.json").write_text('{"type": "string"}', encoding="utf-8")
    r = run(swiftlet, "chat", "--model", model(SMOLLM2), "--prompt", "Hi", "--grammar-file", str(tmp_path / "g.gbnf"),
            "--json-schema", str(tmp_path / "s.json"), check=False)
    assert r.returncode == 1 and b"not both" in r.stderr


def test_chat_follows_a_json_schema(swiftlet, tmp_path):
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                               "country": {"enum": ["France", "Italy", "Spain"]}},
              "required": ["city", "country"], "additionalProperties": False}
    (tmp_path / "s.json").write_text(json.dumps(schema), encoding="utf-8")
    r = run(swiftlet, "chat", "--model", model(SMOLLM2), "--prompt", "Name a city in Europe.", "--temp", "0",
            "--json-schema", str(tmp_path / "s.json"))
    answer = json.loads(r.stdout)
    assert set(answer) == {"city", "country"} and answer["country"] in schema["properties"]["country"]["enum"]
