import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, makeConfig, SCHEMA } from "../src/config.ts";
import { AggError } from "../src/errors.ts";

const ok: [string, string[], Record<string, string>, Record<string, number | string>][] = [
  ["defaults", [], {}, { port: 9464, host: "0.0.0.0", max_series: 10000, series_ttl_s: 600 }],
  ["flags", ["--port", "8080", "--host=127.0.0.1"], {}, { port: 8080, host: "127.0.0.1" }],
  ["env", [], { MESHLAT_PORT: "7000", MESHLAT_MAX_SERIES: "10" }, { port: 7000, max_series: 10 }],
  ["flags win over env", ["--port=1"], { MESHLAT_PORT: "2" }, { port: 1 }],
  ["empty env ignored", [], { MESHLAT_PORT: "" }, { port: 9464 }],
  ["ephemeral port", ["--port", "0"], {}, { port: 0 }],
  // Kubernetes service links for the Service meshlat-aggregator: not ours, must not stop startup.
  ["other MESHLAT_* variables ignored", [], { MESHLAT_AGGREGATOR_PORT: "tcp://10.0.0.1:9464", MESHLAT_AGGREGATOR_SERVICE_HOST: "10.0.0.1" }, { port: 9464, host: "0.0.0.0" }],
];
for (const [name, argv, env, expect] of ok) {
  test(`config: ${name}`, () => {
    const c = loadConfig(argv, env);
    for (const [k, v] of Object.entries(expect)) assert.equal((c as Record<string, unknown>)[k], v, k);
    assert.ok(Object.isFrozen(c));
  });
}

const bad: [string, string[], Record<string, string>, string][] = [
  ["port out of range", ["--port", "70000"], {}, "port"],
  ["port not a number", [], { MESHLAT_PORT: "http" }, "port"],
  ["fractional", ["--max-series=1.5"], {}, "max_series"],
  ["unknown flag", ["--nope", "1"], {}, "--nope"],
  ["missing value", ["--port"], {}, "port"],
  ["bad log level", ["--log-level", "loud"], {}, "log_level"],
  ["bad host", ["--host", "a b"], {}, "host"],
  ["idle timeout too small", ["--series-ttl-s", "1"], {}, "series_ttl_s"],
  ["trace URL without {trace_id}", ["--trace-url-template", "http://jaeger:16686/trace/"], {}, "trace_url_template"],
  ["trace URL not http(s)", [], { MESHLAT_TRACE_URL_TEMPLATE: "javascript:alert('{trace_id}')" }, "trace_url_template"],
  ["trace URL with a space", ["--trace-url-template", "http://x/{trace_id} y"], {}, "trace_url_template"],
];
for (const [name, argv, env, path] of bad) {
  test(`config error: ${name}`, () => {
    assert.throws(() => loadConfig(argv, env), (e: unknown) => e instanceof AggError && e.code === "AGG_ERR_CONFIG" && e.path === path);
  });
}

test("every schema field has a unit or choice list, and a default inside its range", () => {
  for (const [k, f] of Object.entries(SCHEMA)) {
    assert.ok(f.help, k);
    if (f.kind === "int") assert.ok(f.default >= f.min && f.default <= f.max && f.unit, k);
  }
  assert.throws(() => makeConfig({ bogus: 1 } as never), (e: unknown) => e instanceof AggError && e.code === "AGG_ERR_CONFIG");
});
