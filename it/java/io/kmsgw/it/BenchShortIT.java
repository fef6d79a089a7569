package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's short mode, as CI runs it: it must pass, not just run. Every scenario error-free, no
 * C_OpenSession, C_Login or C_FindObjects in steady state, and a report with every scenario in it.
 */
class BenchShortIT {
  private static final Path PROJECT = Path.of(System.getProperty("kmsgw.project.dir", "."));
  private static final Path BUILD = Path.of(System.getProperty("kmsgw.build.dir", "target"));

  @Test
  void shortMode_passesWithEveryScenarioErrorFree() throws Exception {
    Path report = BUILD.resolve("it").resolve("bench-short-report.json").toAbsolutePath();
    Files.createDirectories(report.getParent());
    Files.deleteIfExists(report);
    Process p = new ProcessBuilder(PROJECT.resolve("kmsgw").toAbsolutePath().toString(), "bench",
        "--dir", BUILD.resolve("it").resolve("bench").toAbsolutePath().toString(), "--out", report.toString())
        .directory(PROJECT.toFile())
        .redirectErrorStream(true)
        .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the short mode must finish well inside 2 minutes of measuring");
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("PASS: every scenario error-free"), output);

    JsonObject doc = new JsonObject(Files.readString(report));
    assertEquals("short", doc.getString("mode"));
    assertTrue(doc.getJsonObject("raw_pkcs11").getDouble("ops_per_second") > 0);
    JsonArray scenarios = doc.getJsonArray("scenarios");
    Set<String> names = new TreeSet<>();
    for (int i = 0; i < scenarios.size(); i++) {
      JsonObject s = scenarios.getJsonObject(i);
      names.add(s.getString("scenario"));
      assertEquals(0L, s.getLong("errors"), s.encode());
      assertTrue(s.getLong("requests") > 0, s.encode());
      assertTrue(s.getDouble("server_cpu_seconds") > 0, "server CPU is measured: " + s.encode());
      assertTrue(s.getDouble("server_peak_rss_mib") > 0, "server RSS is measured: " + s.encode());
      // wrk's own CPU (clock ticks of 10 ms): certainly above zero where thousands of requests a second ran
      double loadCpu = s.getDouble("load_generator_cpu_seconds");
      assertTrue(s.getString("scenario").equals("CreateKey") ? loadCpu >= 0 : loadCpu > 0,
          "wrk's CPU is measured: " + s.encode());
      // the audit trail's slow writes (a disk that stalls) and the machine's idle, iowait and steal time
      long slow = s.getLong("audit_writes_over_10ms");
      assertEquals(slow, s.getJsonObject("audit_writes_over_10ms_by_ms").stream()
          .mapToLong(e -> ((Number) e.getValue()).longValue()).sum(), s.encode());
      for (String f : List.of("machine_idle_seconds", "machine_iowait_seconds", "machine_steal_seconds")) {
        assertTrue(s.getDouble(f) >= 0, f + " is read from /proc/stat: " + s.encode());
      }
    }
    JsonObject interleaved = doc.getJsonObject("spread_interleaved");
    assertEquals(0L, interleaved.getLong("errors"), interleaved.encode());
    assertEquals(4, interleaved.getJsonArray("segments").size(), "two rounds of one key and spread, alternating");
    assertTrue(interleaved.getDouble("ratio") > 0 && interleaved.getDouble("one_key_requests_per_second") > 0,
        interleaved.encode());
    // the cold start: every second of the first load on the fresh gateway, against the warm Encrypt 32 B @32 rate
    JsonObject cold = doc.getJsonObject("cold_start");
    JsonArray seconds = cold.getJsonArray("seconds");
    assertEquals(6, seconds.size(), cold.encode());
    for (int i = 0; i < seconds.size(); i++) {
      assertEquals(0L, seconds.getJsonObject(i).getLong("errors"), cold.encode());
      assertTrue(seconds.getJsonObject(i).getLong("requests_per_second") > 0, cold.encode());
    }
    assertTrue(cold.getDouble("first_second_ratio_to_peak") > 0, cold.encode());
    double warm = scenarios.stream().map(o -> (JsonObject) o).filter(s -> s.getString("scenario")
        .equals("Encrypt 32 B") && s.getInteger("connections") == 32).findFirst().orElseThrow()
        .getDouble("requests_per_second");
    assertEquals(Math.round(warm), cold.getLong("peak_requests_per_second"), cold.encode());
    for (String expected : List.of("Encrypt 32 B", "Encrypt 4096 B", "Decrypt", "GenerateDataKey", "Mix 80/15/5",
        "CreateKey", "Encrypt 32 B over 1000 keys", "Encrypt 32 B, one key among 1000", "Sign RSA-2048 PSS",
        "Sign ECDSA P-256", "Verify ECDSA P-256", "GenerateMac HMAC_256", "DeriveSharedSecret P-256")) {
      assertTrue(names.contains(expected), "missing scenario " + expected + " in " + names);
    }
    // the key types (issue #17): each set against the raw rate of its own HSM call, measured in the same run, with no
    // C_OpenSession, C_Login or C_FindObjects while it ran (checked for every scenario through "failures" below)
    assertTrue(doc.getJsonArray("skipped_scenarios").isEmpty(), doc.getJsonArray("skipped_scenarios").encode());
    JsonObject raws = doc.getJsonObject("raw_pkcs11_by_operation");
    for (int i = 0; i < scenarios.size(); i++) {
      JsonObject s = scenarios.getJsonObject(i);
      String rawId = s.getString("raw_mechanism");
      if (rawId != null) {
        JsonObject raw = raws.getJsonObject(rawId);
        assertEquals(0L, raw.getLong("errors"), raw.encode());
        assertTrue(raw.getDouble("ops_per_second") > 0, raw.encode());
        assertEquals(s.getDouble("requests_per_second") / raw.getDouble("ops_per_second"),
            s.getDouble("ratio_to_raw"), 1e-9, s.encode());
      }
    }
    assertEquals(6, raws.size(), "AES-GCM and the five key-type operations: " + raws.encode());
    assertEquals(5, scenarios.stream().filter(o -> ((JsonObject) o).getString("raw_mechanism") != null).count(),
        "the five key-type scenarios, at 32 connections in short mode");
    assertTrue(doc.getJsonArray("failures").isEmpty(), doc.getJsonArray("failures").encode());
  }
}
