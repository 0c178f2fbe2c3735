#include "eval/evaluator.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "engine/chat_format.hpp"
#include "eval/plot.hpp"
#include "eval/rollout.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::eval {

namespace {

using json = nlohmann::json;

std::string as_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmt::format("{}", v.get<double>());
  fail("the answer must be a string or a number");
}

// Answer text after a "</think>" (or the whole content).
std::string after_think(const std::string& content) {
  const size_t p = content.rfind("</think>");
  return p == std::string::npos ? content : content.substr(p + 8);
}

EvalProblem parse_problem(const json& j, int64_t line, const std::string& suffix) {
  if (!j.is_object()) fail("not a JSON object");
  EvalProblem p;
  p.id = j.contains("id") ? as_text(j["id"]) : fmt::format("line-{}", line);
  p.group = j.contains("kind") && j["kind"].is_string() ? j["kind"].get<std::string>() : "";
  std::string fallback_answer;
  if (j.contains("messages")) {
    const json& ms = j["messages"];
    if (!ms.is_array()) fail("'messages' must be an array");
    p.messages = json::array();
    for (const json& m : ms) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) fail("a message has no role");
      if (m["role"] == "assistant") {
        if (m.contains("content") && m["content"].is_string())
          if (auto b = extract_boxed(after_think(m["content"].get<std::string>()))) fallback_answer = *b;
        break;
      }
      p.messages.push_back({{"role", m["role"]}, {"content", m.value("content", "")}});
    }
    if (p.messages.empty()) fail("no prompt messages before the first assistant turn");
  } else {
    std::string q;
    for (const char* key : {"question", "problem", "prompt"})
      if (j.contains(key) && j[key].is_string()) {
        q = j[key].get<std::string>();
        break;
      }
    if (q.empty()) fail("no 'question', 'problem', 'prompt' or 'messages'");
    p.messages = json::array({{{"role", "user"}, {"content", q}}});
  }
  if (!suffix.empty())
    for (auto it = p.messages.rbegin(); it != p.messages.rend(); ++it)
      if ((*it)["role"] == "user") {
        (*it)["content"] = (*it)["content"].get<std::string>() + suffix;
        break;
      }
  if (j.value("verifier", "math") == "countdown") {
    p.ref.verifier = "countdown";
    if (!j.contains("numbers") || !j["numbers"].is_array() || !j.contains("target"))
      fail("a countdown problem needs 'numbers' and 'target'");
    p.ref.numbers = j["numbers"].get<std::vector<int64_t>>();
    p.ref.target = j["target"].get<int64_t>();
    p.ref.answer = std::to_string(p.ref.target);
  } else if (j.contains("answer")) {
    p.ref.answer = as_text(j["answer"]);
  } else if (j.contains("solution") && j["solution"].is_string()) {
    auto b = extract_boxed(j["solution"].get<std::string>());
    if (!b) fail("'solution' has no \\boxed{{}} answer");
    p.ref.answer = *b;
  } else if (!fallback_answer.empty()) {
    p.ref.answer = fallback_answer;
  } else {
    fail("no reference answer ('answer', 'solution' or a boxed assistant answer)");
  }
  return p;
}

uint64_t sample_seed(uint64_t base, const std::string& id, int sample) {
  uint64_t h = 1469598103934665603ull ^ (base * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  h ^= static_cast<uint64_t>(sample) * 0xD1B54A32D192ED03ull;
  return h & 0x7FFFFFFFFFFFFFFFull;  // never the "random seed" marker
}

std::string sample_key(const std::string& id, int64_t sample) { return id + "\x1f" + std::to_string(sample); }

}  // namespace

std::vector<EvalProblem> load_eval_set(const std::string& path, const std::string& prompt_suffix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read eval set '{}'", path);
  std::vector<EvalProblem> out;
  std::set<std::string> ids;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back(parse_problem(json::parse(line), n, prompt_suffix));
    } catch (const json::exception& e) {
      fail("{}:{}: {}", path, n, e.what());
    } catch (const Error& e) {
      fail("{}:{}: {}", path, n, e.what());
    }
    if (!ids.insert(out.back().id).second) fail("{}:{}: duplicate id '{}'", path, n, out.back().id);
  }
  return out;
}

EvalReport run_eval(Model& model, const EvalOptions& o, const EvalLog& log) {
  if (o.samples < 1) fail("eval: --samples must be at least 1");
  std::vector<EvalProblem> probs = load_eval_set(o.data, o.prompt_suffix);
  if (o.limit > 0 && static_cast<int64_t>(probs.size()) > o.limit) probs.resize(static_cast<size_t>(o.limit));
  EvalReport rep;
  std::string base = o.out;
  if (base.empty()) {
    base = o.data;
    if (base.size() > 6 && base.compare(base.size() - 6, 6, ".jsonl") == 0) base.resize(base.size() - 6);
    base += ".samples.jsonl";
  }
  rep.samples_path = base;
  std::string stem = base;
  if (stem.size() > 6 && stem.compare(stem.size() - 6, 6, ".jsonl") == 0) stem.resize(stem.size() - 6);
  rep.summary_path = stem + ".summary.json";

  // Resume: keep the complete records already written.
  std::map<std::string, json> records;
  if (std::filesystem::exists(base)) {
    std::ifstream in(base, std::ios::binary);
    std::string line, kept;
    size_t torn = 0;
    while (std::getline(in, line)) {
      try {
        json r = json::parse(line);
        records[sample_key(r.at("id").get<std::string>(), r.at("sample").get<int64_t>())] = r;
        kept += line + "\n";
      } catch (const std::exception&) {
        ++torn;
      }
    }
    if (torn) {
      // A crash mid-write leaves at most the last line torn; keep the complete ones.
      log(fmt::format("warning: {}: dropped {} incomplete or unreadable line(s); their samples run again", base, torn));
      write_file_atomic(base, kept);
    }
    if (!records.empty()) log(fmt::format("resuming: {} samples already in {}", records.size(), base));
  }

  const Tokenizer& tok = model.tokenizer();
  struct Item {
    size_t problem;
    int sample;
  };
  std::vector<Item> todo;
  for (size_t i = 0; i < probs.size(); ++i)
    for (int s = 0; s < o.samples; ++s)
      if (!records.count(sample_key(probs[i].id, s))) todo.push_back({i, s});

  AppendFile out(base);
  RolloutOptions ro{o.sampling, o.max_tokens, o.max_batch, o.speculation};
  const size_t chunk = static_cast<size_t>(std::max(1, o.max_batch)) * 4;
  size_t finished = 0;
  for (size_t c0 = 0; c0 < todo.size(); c0 += chunk) {
    const size_t c1 = std::min(todo.size(), c0 + chunk);
    std::vector<std::vector<int32_t>> prompts;
    std::vector<uint64_t> seeds;
    bool in_reasoning = false;
    for (size_t t = c0; t < c1; ++t) {
      const EvalProblem& p = probs[todo[t].problem];
      const std::string text = format_chat(tok, p.messages, true);
      in_reasoning = ends_in_reasoning(text);
      prompts.push_back(tokenize_prompt(tok, text));
      seeds.push_back(sample_seed(o.sampling.seed, p.id, todo[t].sample));
    }
    const std::vector<RolloutSample> got = rollout(model, prompts, seeds, in_reasoning, ro);
    for (size_t t = c0; t < c1; ++t) {
      const EvalProblem& p = probs[todo[t].problem];
      const RolloutSample& s = got[t - c0];
      const Verdict v = score_answer(p.ref, s.closed_reasoning || !in_reasoning ? s.content : std::string());
      json r = {{"id", p.id},
                {"group", p.group},
                {"sample", todo[t].sample},
                {"seed", seeds[t - c0]},
                {"reasoning", s.reasoning},
                {"content", s.content},
                {"extracted", v.has_answer ? json(v.extracted) : json(nullptr)},
                {"vote", v.has_answer ? json(vote_key(v.extracted)) : json("")},
                {"correct", v.correct},
                {"reference", p.ref.answer},
                {"prompt_tokens", prompts[t - c0].size()},
                {"tokens", s.tokens.size()},
                {"reasoning_tokens", s.reasoning_tokens},
                {"closed_reasoning", s.closed_reasoning},
                {"truncated", s.truncated}};
      out.append_line(r.dump());
      records[sample_key(p.id, todo[t].sample)] = std::move(r);
    }
    out.sync();  // a checkpoint: these samples survive a crash
    finished = c1;
    log(fmt::format("eval: {}/{} samples", finished, todo.size()));
  }

  // Metrics over every requested (problem, sample).
  std::vector<std::vector<SampleOutcome>> all;
  std::map<std::string, std::vector<std::vector<SampleOutcome>>> groups;
  for (const EvalProblem& p : probs) {
    std::vector<SampleOutcome> outs;
    for (int s = 0; s < o.samples; ++s) {
      const json& r = records.at(sample_key(p.id, s));
      outs.push_back({r.value("correct", false), r.value("vote", ""), r.value("reasoning_tokens", int64_t{0}),
                      r.value("tokens", int64_t{0}), r.value("truncated", false)});
    }
    all.push_back(outs);
    if (!p.group.empty()) groups[p.group].push_back(std::move(outs));
  }
  rep.overall = summarize(all);
  for (auto& [g, v] : groups) rep.by_group[g] = summarize(v);

  auto summary_json = [](const Summary& s) {
    return json{{"problems", s.problems}, {"samples", s.samples}, {"k", s.k},
                {"pass@1", s.pass1},      {"pass@k", s.pass_k},   {"maj@k", s.maj_k},
                {"mean_reasoning_tokens", s.mean_reasoning_tokens},  {"mean_tokens", s.mean_tokens},
                {"truncated_share", s.truncated_share},              {"answered_share", s.answered_share},
                {"pass_at", s.pass_at}};
  };
  json sj = {{"data", o.data},
             {"samples_file", base},
             {"temperature", o.sampling.temperature},
             {"top_p", o.sampling.top_p},
             {"max_tokens", o.max_tokens},
             {"overall", summary_json(rep.overall)}};
  for (const auto& [g, s] : rep.by_group) sj["groups"][g] = summary_json(s);
  write_file_atomic(rep.summary_path, sj.dump(2) + "\n");
  std::string csv = "group,problems,samples,k,pass@1,pass@k,maj@k,mean_reasoning_tokens,truncated_share,answered_share\n";
  auto row = [&](const std::string& g, const Summary& s) {
    csv += fmt::format("{},{},{},{},{:.4f},{:.4f},{:.4f},{:.1f},{:.4f},{:.4f}\n", g, s.problems, s.samples, s.k,
                       s.pass1, s.pass_k, s.maj_k, s.mean_reasoning_tokens, s.truncated_share, s.answered_share);
  };
  row("all", rep.overall);
  for (const auto& [g, s] : rep.by_group) row(g, s);
  write_file_atomic(stem + ".csv", csv);
  PlotPanel panel{"pass@k (unbiased estimator) over k", "k", {}, true};
  auto series = [](const std::string& name, const Summary& s) {
    PlotSeries se{name, {}, {}};
    for (size_t j = 0; j < s.pass_at.size(); ++j) {
      se.x.push_back(static_cast<double>(j + 1));
      se.y.push_back(s.pass_at[j]);
    }
    return se;
  };
  panel.series.push_back(series("all", rep.overall));
  for (const auto& [g, s] : rep.by_group) panel.series.push_back(series(g, s));
  write_svg(stem + ".svg", {panel});
  return rep;
}

}  // namespace r1::eval
