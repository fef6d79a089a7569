package io.kmsgw.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FloorsTest {
  private static final Map<String, JsonObject> RAW = Map.of(
      "aes-gcm", raw("aes-gcm", 50_000, 0),
      "rsa2048-pss-sign", raw("rsa2048-pss-sign", 1_000, 0),
      "ecdsa-p256-sign", raw("ecdsa-p256-sign", 10_000, 0));

  @Test
  void shortMode_errorFreeScenariosWithoutFindCalls_pass() {
    List<String> failures = check(Plan.shortPlan(), RAW, List.of(
        keyType(KeyTypeScenarios.Case.SIGN_RSA, 32, 100, 1_000),
        keyType(KeyTypeScenarios.Case.GENERATE_MAC, 32, 5_000, 50_000)), new JsonArray());
    assertEquals(List.of(), failures, "short mode judges errors and calls, not the floors");
  }

  @Test
  void findObjectsInSteadyState_fails() {
    JsonObject sign = keyType(KeyTypeScenarios.Case.SIGN_ECDSA, 32, 9_000, 10_000);
    sign.getJsonObject("pkcs11_calls").put("C_FindObjectsInit", 3L);
    List<String> failures = check(Plan.shortPlan(), RAW, List.of(sign), new JsonArray());
    assertEquals(List.of("Sign ECDSA P-256 @32: 3 C_FindObjectsInit calls in steady state"), failures);
  }

  @Test
  void fullMode_rsaSignUnder80PercentOfItsRaw_fails_andAbove_passes() {
    List<String> low = check(Plan.fullPlan(), RAW, List.of(keyType(KeyTypeScenarios.Case.SIGN_RSA, 32, 790, 1_000)),
        new JsonArray());
    assertEquals(1, low.size(), low.toString());
    assertTrue(low.get(0).startsWith("Sign RSA-2048 PSS @32: 790 req/s, 79% of the raw PKCS#11 rate of "
        + "rsa2048-pss-sign (1000 ops/s), floor 80%"), low.get(0));
    assertEquals(List.of(), check(Plan.fullPlan(), RAW,
        List.of(keyType(KeyTypeScenarios.Case.SIGN_RSA, 32, 810, 1_000)), new JsonArray()));
  }

  @Test
  void fullMode_ecdsaSignFloorIs50Percent_atThirtyTwoConnectionsOnly() {
    assertEquals(List.of(), check(Plan.fullPlan(), RAW, List.of(
        keyType(KeyTypeScenarios.Case.SIGN_ECDSA, 1, 1_000, 10_000),
        keyType(KeyTypeScenarios.Case.SIGN_ECDSA, 32, 5_100, 10_000)), new JsonArray()));
    List<String> low = check(Plan.fullPlan(), RAW, List.of(
        keyType(KeyTypeScenarios.Case.SIGN_ECDSA, 32, 4_900, 10_000)), new JsonArray());
    assertEquals(1, low.size(), low.toString());
    assertTrue(low.get(0).contains("49% of the raw PKCS#11 rate of ecdsa-p256-sign"), low.get(0));
  }

  @Test
  void fullMode_recordsEachKeyTypeRatioInTheReport() {
    JsonObject doc = new JsonObject();
    Floors.check(Plan.fullPlan(), RAW, List.of(keyType(KeyTypeScenarios.Case.SIGN_RSA, 32, 900, 1_000),
        keyType(KeyTypeScenarios.Case.SIGN_ECDSA, 32, 6_000, 10_000)), null, new JsonArray(), false, doc);
    assertEquals(0.9, doc.getJsonObject("floor").getDouble("rsa2048-pss-sign_ratio_to_raw"), 1e-9);
    assertEquals(0.6, doc.getJsonObject("floor").getDouble("ecdsa-p256-sign_ratio_to_raw"), 1e-9);
    assertTrue(doc.getJsonArray("failures").isEmpty());
  }

  @Test
  void aSignScenarioWithoutItsRawRate_failsInFullMode() {
    JsonObject sign = keyType(KeyTypeScenarios.Case.SIGN_RSA, 32, 900, 1_000);
    sign.remove("ratio_to_raw");
    List<String> failures = check(Plan.fullPlan(), RAW, List.of(sign), new JsonArray());
    assertEquals(List.of("Sign RSA-2048 PSS @32: no raw PKCS#11 rate of rsa2048-pss-sign to compare with"), failures);
  }

  @Test
  void aSkippedScenario_failsTheRun() {
    JsonArray skipped = new JsonArray().add(new JsonObject().put("scenario", "GenerateMac HMAC_256")
        .put("answer", "GenerateMac is not implemented by kmsgw yet"));
    List<String> failures = check(Plan.shortPlan(), RAW, List.of(), skipped);
    assertEquals(1, failures.size());
    assertTrue(failures.get(0).startsWith("GenerateMac HMAC_256: not measured"), failures.get(0));
  }

  @Test
  void errorsInTheRawLoop_failTheRun() {
    Map<String, JsonObject> raw = Map.of("aes-gcm", raw("aes-gcm", 50_000, 0),
        "ecdh-p256", raw("ecdh-p256", 1_000, 12));
    assertEquals(List.of("raw PKCS#11 ecdh-p256: 12 errors"), check(Plan.shortPlan(), raw, List.of(), new JsonArray()));
  }

  @Test
  void aScenarioAgainstTheRawRunsAroundIt_byRateAndByCpu() {
    JsonObject r = new JsonObject().put("requests", 20_000L).put("requests_per_second", 2_000.0)
        .put("server_cpu_seconds", 14.0).put("load_generator_cpu_seconds", 2.0);
    KeyTypeScenarios.compare(r, RawMechanism.RSA_PSS_SIGN, List.of(
        new JsonObject().put("ops_per_second", 2_400.0).put("cpu_us_per_op", 700.0),
        new JsonObject().put("ops_per_second", 2_600.0).put("cpu_us_per_op", 740.0)));
    assertEquals(2_500.0, r.getDouble("raw_ops_per_second"), 1e-9, "the mean of the runs before and after");
    assertEquals(0.8, r.getDouble("ratio_to_raw"), 1e-9);
    assertEquals(800.0, r.getDouble("cpu_us_per_request"), 1e-9, "gateway and wrk: 16 CPU-s over 20,000 requests");
    assertEquals(720.0 / 800.0, r.getDouble("cpu_ratio_to_raw"), 1e-9);
    assertEquals("rsa2048-pss-sign", r.getString("raw_mechanism"));
    assertEquals(new JsonArray().add(2_400.0).add(2_600.0), r.getJsonArray("raw_runs_ops_per_second"));
  }

  @Test
  void onlyPrefixes_selectByAnyOfThem() {
    assertTrue(ScenarioRunner.selects(null, "Sign RSA-2048 PSS"));
    assertTrue(ScenarioRunner.selects("Verify, Sign", "Sign RSA-2048 PSS"));
    assertEquals(false, ScenarioRunner.selects("Verify,GenerateMac", "Sign RSA-2048 PSS"));
    assertEquals(List.of(KeyTypeScenarios.Case.SIGN_RSA, KeyTypeScenarios.Case.SIGN_ECDSA,
        KeyTypeScenarios.Case.DERIVE_SHARED_SECRET), KeyTypeScenarios.selected("Sign,Derive"));
  }

  @Test
  void rawRunArguments_roundTrip() {
    List<RawPkcs11Bench.Run> runs = RawPkcs11Bench.Run.parse("aes-gcm:3,ecdsa-p256-sign", 10);
    assertEquals(List.of(new RawPkcs11Bench.Run(RawMechanism.AES_GCM, 3),
        new RawPkcs11Bench.Run(RawMechanism.ECDSA_SIGN, 10)), runs);
    assertEquals("ecdsa-p256-sign:10", runs.get(1).argument());
  }

  private static List<String> check(Plan plan, Map<String, JsonObject> raw, List<JsonObject> results,
      JsonArray skipped) {
    return Floors.check(plan, raw, results, null, skipped, false, new JsonObject());
  }

  private static JsonObject raw(String id, double rate, long errors) {
    return new JsonObject().put("mechanism", id).put("ops_per_second", rate).put("errors", errors)
        .put("pool_size", 4);
  }

  /** A key-type scenario's result as KeyTypeScenarios records it. */
  private static JsonObject keyType(KeyTypeScenarios.Case c, int connections, double rps, double rawRate) {
    return new JsonObject().put("scenario", c.scenario).put("connections", connections)
        .put("requests_per_second", rps).put("errors", 0L)
        .put("pkcs11_calls", new JsonObject().put("C_OpenSession", 0L).put("C_Login", 0L)
            .put("C_FindObjectsInit", 0L))
        .put("raw_mechanism", c.raw.id()).put("raw_ops_per_second", rawRate).put("ratio_to_raw", rps / rawRate);
  }
}
