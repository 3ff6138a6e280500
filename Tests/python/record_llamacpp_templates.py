"""Records how llama.cpp renders the tool conversations of test_chat_templates_tools.py with each template
in Fixtures/chat-templates, into Fixtures/reference/chat_templates_llamacpp.json (SwiftletChatTests
compares ChatTemplate with it; test_chat_templates_tools.py reads llama.cpp's verdict on which templates
take tool-call arguments as objects).

    LLAMA_SERVER=/path/to/llama-server python3 record_llamacpp_templates.py MODEL.gguf

For each template it starts `llama-server -m MODEL.gguf --jinja --chat-template-file TEMPLATE`, reads
`chat_template_caps` from `/props`, and posts every conversation to `/apply-template` (with
`add_generation_prompt` true and `chat_template_kwargs` pinning the date and enable_thinking), keeping the
prompt or the error. The model only lends its BOS and EOS texts (SmolLM2: <|im_start|>, <|im_end|>; it adds
no BOS, so llama.cpp strips none).
"""
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

from test_chat_templates_tools import CONVERSATIONS, TOOLS

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Fixtures/reference/chat_templates_llamacpp.json"
PORT = 18437
# llama.cpp's own extra context (common_chat_extra_context: datetime, date_string) and enable_thinking,
# pinned so that the recording does not depend on the day; each case adds its own on top.
CONTEXT = {"date_string": "26 Jul 2024", "datetime": "Jul 26 2024", "enable_thinking": True}
# (case name, conversation, with tools, extra kwargs)
CASES = [(f"{name}/tools", name, True, {}) for name in CONVERSATIONS] + [
    ("ask/no_tools", "ask", False, {}),
    ("call_and_answer/no_tools", "call_and_answer", False, {}),
    ("ask_no_system/thinking_off", "ask_no_system", True, {"enable_thinking": False}),
    ("call_and_answer/thinking_off", "call_and_answer", True, {"enable_thinking": False}),
]


def request(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main(model):
    server = os.environ.get("LLAMA_SERVER", "llama-server")
    templates = {}
    for template in sorted((ROOT / "Fixtures/chat-templates").glob("*.jinja")):
        proc = subprocess.Popen([server, "-m", model, "--jinja", "--chat-template-file", str(template),
                                 "--port", str(PORT), "-c", "512", "-t", "1", "-np", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    if proc.poll() is not None or request("/health")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            if proc.poll() is not None:
                # llama.cpp's engine rejects the template (stress.jinja uses tags it lacks).
                templates[template.stem] = {"unsupported": "llama-server does not start with this template"}
                print(template.stem, "unsupported", file=sys.stderr)
                continue
            _, props = request("/props")
            renders = {}
            for case, name, with_tools, kwargs in CASES:
                body = {"messages": CONVERSATIONS[name], "add_generation_prompt": True,
                        "chat_template_kwargs": {**CONTEXT, **kwargs}}
                if with_tools:
                    body["tools"] = TOOLS
                status, answer = request("/apply-template", body)
                renders[case] = {"prompt": answer["prompt"]} if status == 200 else {
                    "error": answer.get("error", {}).get("message", str(answer))}
            templates[template.stem] = {"caps": props["chat_template_caps"], "renders": renders}
        finally:
            proc.terminate()
            proc.wait()
        print(template.stem, templates[template.stem]["caps"]["supports_object_arguments"], file=sys.stderr)
        bos, eos = props["bos_token"], props["eos_token"]
    record = {
        "made_with": "llama-server (llama.cpp b11312) /props and /apply-template",
        "bos_token": bos, "eos_token": eos,
        "context": CONTEXT, "tools": TOOLS, "conversations": CONVERSATIONS,
        # The same as JSON text, for readers whose JSON objects lose their key order.
        "tools_json": json.dumps(TOOLS, ensure_ascii=False),
        "cases": [{"case": c, "conversation": n, "tools": t, "kwargs": k,
                   "kwargs_json": json.dumps({**CONTEXT, **k})} for c, n, t, k in CASES],
        "templates": templates,
    }
    OUT.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
