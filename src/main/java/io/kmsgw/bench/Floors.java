package io.kmsgw.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What makes a benchmark run pass: every scenario error-free with no session, login or find calls in steady state
 * (both modes), and in full mode the floors (docs/performance.md). The checks and the figures they judged go into the
 * report.
 */
final class Floors {
  private Floors() {}

  /** Error-free in both modes; the floor in full mode. Records the checks in the report. */
  static List<String> check(Plan plan, Map<String, JsonObject> raws, List<JsonObject> results,
      JsonObject interleaved, JsonArray skipped, boolean havePid, JsonObject doc) {
    List<String> failures = new ArrayList<>();
    raws.forEach((id, r) -> {
      if (r.getLong("errors") != 0) {
        failures.add("raw PKCS#11 " + id + ": " + r.getLong("errors") + " errors");
      }
    });
    JsonObject raw = raws.get(RawMechanism.AES_GCM.id());
    for (Object o : skipped) {
      JsonObject s = (JsonObject) o;
      failures.add(s.getString("scenario") + ": not measured, the gateway answered UnsupportedOperationException ("
          + s.getString("answer") + ")");
    }
    for (JsonObject r : results) {
      errorFree(r.getString("scenario") + " @" + r.getInteger("connections"), r,
          !r.getString("scenario").equals("CreateKey"), failures);
    }
    if (interleaved != null) {
      errorFree(interleaved.getString("scenario"), interleaved, true, failures);
    }
    if (plan.full()) {
      JsonObject enc = find(results, "Encrypt 32 B", 32);
      JsonObject spread = results.stream().filter(r -> r.getString("scenario").startsWith("Encrypt 32 B over"))
          .findFirst().orElse(null);
      double rawRate = raw.getDouble("ops_per_second");
      JsonObject floor = new JsonObject();
      if (enc != null) {
        double rps = enc.getDouble("requests_per_second");
        floor.put("encrypt32_rps", rps).put("encrypt32_ratio_to_raw", rps / rawRate)
            .put("encrypt32_p99_ms", enc.getDouble("p99_ms"));
        if (rps < 12_000) {
          failures.add(String.format("Encrypt 32 B @32: %.0f req/s, floor 12000", rps));
        }
        if (rps < 0.6 * rawRate) {
          failures.add(String.format("Encrypt 32 B @32: %.0f%% of the raw PKCS#11 rate (%.0f ops/s), floor 60%%",
              100 * rps / rawRate, rawRate));
        }
        if (enc.getDouble("p99_ms") > 10) {
          failures.add(String.format("Encrypt 32 B @32: p99 %.2f ms, floor 10 ms (audit writes over 10 ms in the "
              + "scenario: %s)", enc.getDouble("p99_ms"), enc.getValue("audit_writes_over_10ms") == null ? "n/a"
              : enc.getJsonObject("audit_writes_over_10ms_by_ms").encode()));
        }
      }
      JsonObject among = results.stream()
          .filter(r -> r.getString("scenario").startsWith(Benchmark.ONE_KEY_AMONG)).findFirst().orElse(null);
      // informational: the separate runs, minutes apart (the machine drifts between them)
      if (spread != null && enc != null) {
        floor.put("spread_ratio_separate_runs_start", spread.getDouble("requests_per_second")
            / enc.getDouble("requests_per_second"));
      }
      if (spread != null && among != null) {
        floor.put("spread_ratio_separate_runs_same_token", spread.getDouble("requests_per_second")
            / among.getDouble("requests_per_second"));
      }
      if (spread != null && interleaved == null) {
        failures.add("Encrypt over many keys: the interleaved comparison with one key did not run");
      }
      if (interleaved != null) {
        // the floor: over the spread keys against one of them, in alternating segments (docs/performance.md)
        double ratio = interleaved.getDouble("ratio");
        floor.put("spread_ratio", ratio);
        if (ratio < 0.85) {
          failures.add(String.format("Encrypt over many keys: %.0f%% of Encrypt over one key (interleaved), floor 85%%",
              100 * ratio));
        }
      }
      if (havePid) {
        double peak = results.stream().mapToDouble(r -> r.getDouble("server_peak_rss_mib")).max().orElse(0);
        floor.put("peak_rss_mib", peak);
        if (peak >= 512) {
          failures.add(String.format("peak RSS %.0f MiB, floor 512 MiB", peak));
        }
      }
      keyTypeFloors(results, floor, failures);
      doc.put("floor", floor);
    }
    doc.put("failures", new io.vertx.core.json.JsonArray(failures));
    return failures;
  }

  /**
   * The key-type floors (issue #17), at 32 connections with wrk on the same cores: each scenario's rate against the
   * raw PKCS#11 rate of its own HSM call measured in the same run.
   */
  static final Map<KeyTypeScenarios.Case, Double> KEY_TYPE_FLOORS = Map.of(
      KeyTypeScenarios.Case.SIGN_RSA, 0.8,
      KeyTypeScenarios.Case.SIGN_ECDSA, 0.5);

  private static void keyTypeFloors(List<JsonObject> results, JsonObject floor, List<String> failures) {
    KEY_TYPE_FLOORS.forEach((c, min) -> {
      JsonObject r = find(results, c.scenario, 32);
      if (r == null) {
        return; // not selected (--only)
      }
      Double ratio = r.getDouble("ratio_to_raw");
      if (ratio == null) {
        failures.add(c.scenario + " @32: no raw PKCS#11 rate of " + c.raw.id() + " to compare with");
        return;
      }
      floor.put(c.raw.id() + "_ratio_to_raw", ratio).put(c.raw.id() + "_cpu_ratio_to_raw",
          r.getDouble("cpu_ratio_to_raw"));
      if (ratio < min) {
        failures.add(String.format("%s @32: %.0f req/s, %.0f%% of the raw PKCS#11 rate of %s (%.0f ops/s), floor "
            + "%.0f%%", c.scenario, r.getDouble("requests_per_second"), 100 * ratio, c.raw.id(),
            r.getDouble("raw_ops_per_second"), 100 * min));
      }
    });
  }

  /** No errors, and (in steady state) no session, login or find calls, in one measurement. */
  private static void errorFree(String label, JsonObject m, boolean steadyState, List<String> failures) {
    if (m.getLong("errors") != 0) {
      failures.add(label + ": " + m.getLong("errors") + " errors");
    }
    if (!steadyState) {
      return;
    }
    JsonObject calls = m.getJsonObject("pkcs11_calls");
    for (String k : calls.fieldNames()) {
      if (calls.getLong(k) != 0) {
        failures.add(label + ": " + calls.getLong(k) + " " + k + " calls in steady state");
      }
    }
  }

  static JsonObject find(List<JsonObject> results, String scenario, int connections) {
    return results.stream().filter(r -> r.getString("scenario").equals(scenario)
        && r.getInteger("connections") == connections).findFirst().orElse(null);
  }
}
