"""Writes golden.jsonl: chat templates rendered by Python Jinja2 set up as
transformers' apply_chat_template sets it up (chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with
loopcontrols, tojson = json.dumps(ensure_ascii=False, ...), raise_exception
and strftime_now (here with a fixed clock).

Run from this folder: python3 golden.py  (Jinja2 3.1.6 made the checked-in file)
"""
import datetime
import json

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime.datetime(2024, 7, 6, 9, 5, 3, 123456)


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)


def config_template(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)["chat_template"]


TEMPLATES = {
    "bitnet-2b4t": config_template("../../../testdata/tokenizer/llama3/tokenizer_config.json"),
    "bitnet-tiny": config_template("../../../testdata/tokenizer/bitnet-tiny/tokenizer_config.json"),
    # A Llama 3.1 style template: date, tools as indented JSON, whitespace
    # control, namespace, slicing, raise_exception.
    "tools": """{{- bos_token }}
{%- set date_string = strftime_now("%d %b %Y") %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none %}
    {{- "You have these tools:\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- set ns = namespace(users=0) %}
{%- for message in messages %}
    {%- if message.role not in ['user', 'assistant'] %}
        {{- raise_exception('Unknown role: ' + message.role) }}
    {%- endif %}
    {%- if message.role == 'user' %}{% set ns.users = ns.users + 1 %}{% endif %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
{{- '' if ns.users else raise_exception('no user message') }}""",
    # Block tags on their own lines: lstrip_blocks and trim_blocks at work.
    "blocks": """{% for message in messages %}
    {% if message.role == 'system' %}
[SYS] {{ message.content }}
    {% elif loop.last %}
  [LAST {{ loop.index }}/{{ loop.length }}] {{ message.role|upper }}: {{ message.content }}
    {% else %}
{{ message.role }}> {{ message.content }}
    {% endif %}
{% endfor %}
{% if add_generation_prompt %}
assistant>
{% endif %}""",
    # Python string semantics of the filters this package replaces.
    "filters": """{% for message in messages %}
<{{ message.content|trim }}|{{ message.content|capitalize }}|{{ message.role|capitalize }}|{{ message.content|trim('x.') }}>
{% endfor %}
{{ extra|tojson }}
{{ extra|tojson(indent=2) }}
{{ extra|tojson(separators=[',', ':'], sort_keys=true) }}
{{ extra|tojson(ensure_ascii=true) }}
{{ [1.5, 2, none, true, "q\\"b\\\\s\\n\\t\\u0001\\u007f"]|tojson }}
{{ strftime_now("%Y-%m-%d %H:%M:%S %a %A %b %B %j %p %I %y %-d %-m %e %%") }}""",
    # String literal escapes (Python's unicode-escape codec).
    "escapes": r"""{{ 'a\x41\u00e9\U0001F999\101\7\r|\'|"|\q' }}{{ "\x27\x22\x5c\u000a\t" | tojson }}{{ 'é' }}
""",
    # Windows line ends and a trailing newline, as a chat_template.jinja
    # file may have.
    "crlf": "{% for message in messages %}\r\n{{ message.role }}: {{ message.content }}\r\n{% endfor %}\rend\r\n",
    # Loop controls and raw blocks.
    "loops": """{% for message in messages %}{% if message.role == 'system' %}{% continue %}{% endif %}{% if loop.index > 3 %}{% break %}{% endif %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endfor %}{% raw %}{{ not | trim }} {% endraw %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}""",
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "  You are a helpful assistant.\n"}, {"role": "user", "content": "Hi!"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there! How can I help you today?"},
        {"role": "user", "content": "\u3000\x1c Tell me a joke about llamas.\x1f \u00a0"},
    ],
    [{"role": "user", "content": "xx.ßtraße ΣΑΣ ΟΔΟΣ. ǆemal İstanbul ﬁne x."}],
    [{"role": "user", "content": "你好！请用中文回答：1+1=?  <|eot_id|>"}, {"role": "assistant", "content": "2"}],
]

EXTRA = {"name": "get_weather", "zeta": [1.0, 2.5, 1e16, 1e-05, 0.1, 123456789.125, -0.0, 1e22], "alpha": {"ünï": "☃ \u2028", "empty": {}, "list": []}}

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather <now> & later",
                                      "parameters": {"type": "object", "required": ["city"],
                                                     "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}}}},
    {"type": "function", "function": {"name": "noop", "parameters": {}}},
]


def main():
    with open("golden.jsonl", "w", encoding="utf-8") as out:
        for name, source in TEMPLATES.items():
            for conv in CONVERSATIONS:
                for gen in (True, False):
                    case = {
                        "template": name, "source": source, "messages": conv, "add_generation_prompt": gen,
                        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                        "vars": {"extra": EXTRA, "tools": TOOLS if gen else None},
                    }
                    try:
                        case["want"] = env.from_string(source).render(
                            messages=conv, add_generation_prompt=gen, bos_token=case["bos_token"],
                            eos_token=case["eos_token"], **case["vars"])
                    except TemplateError as e:
                        case["error"] = str(e)
                    out.write(json.dumps(case, ensure_ascii=False) + "\n")


main()
