package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * The scenarios of the asymmetric and HMAC keys (issue #17): Sign with RSA-2048 PSS and ECDSA P-256, Verify with
 * ECDSA P-256, GenerateMac with HMAC_256 and DeriveSharedSecret with a P-256 key agreement key, each set against the
 * raw PKCS#11 rate of the same HSM call ({@link RawMechanism}) measured in the same run.
 *
 * <p>Sign and Verify send a SHA-256 digest ({@code MessageType} DIGEST): the gateway then gives the HSM exactly what
 * the raw loop gives it, a 32-byte digest for {@code CKM_RSA_PKCS_PSS} or {@code CKM_ECDSA}, so the ratio to the raw
 * rate is what serving the request costs (HTTP, SigV4, JSON, authorization, the audit event) and nothing else. With
 * RAW the gateway hashes the message first (it never hands messages to the HSM), which for a 32-byte message adds one
 * SHA-256 of a block, well under a microsecond: DIGEST is the comparison with one variable, not a faster one.
 */
final class KeyTypeScenarios {
  /** One scenario: its name, the HSM call it is compared with, the key it needs. */
  enum Case {
    SIGN_RSA("Sign RSA-2048 PSS", "Sign", RawMechanism.RSA_PSS_SIGN, "RSA_2048", "SIGN_VERIFY"),
    SIGN_ECDSA("Sign ECDSA P-256", "Sign", RawMechanism.ECDSA_SIGN, "ECC_NIST_P256", "SIGN_VERIFY"),
    VERIFY_ECDSA("Verify ECDSA P-256", "Verify", RawMechanism.ECDSA_VERIFY, "ECC_NIST_P256", "SIGN_VERIFY"),
    GENERATE_MAC("GenerateMac HMAC_256", "GenerateMac", RawMechanism.HMAC_SHA256, "HMAC_256",
        "GENERATE_VERIFY_MAC"),
    DERIVE_SHARED_SECRET("DeriveSharedSecret P-256", "DeriveSharedSecret", RawMechanism.ECDH_P256, "ECC_NIST_P256",
        "KEY_AGREEMENT");

    final String scenario;
    final String operation;
    final RawMechanism raw;
    final String keySpec;
    final String keyUsage;

    Case(String scenario, String operation, RawMechanism raw, String keySpec, String keyUsage) {
      this.scenario = scenario;
      this.operation = operation;
      this.raw = raw;
      this.keySpec = keySpec;
      this.keyUsage = keyUsage;
    }
  }

  /** Distinct requests per scenario (digests, messages, peer keys), each signed once per file. */
  static final int DISTINCT = 64;

  private final Plan plan;
  private final ScenarioRunner runner;
  private final KmsHttp kms;
  private final PrintStream out;
  private final Map<String, JsonObject> raw;
  private final Random random = new Random(17);
  private final Map<String, String> keys = new HashMap<>();
  private final JsonArray skipped = new JsonArray();
  private RawNow rawNow;

  /** Measures the raw loop of one operation now (a process of its own, as at the start of the run). */
  @FunctionalInterface
  interface RawNow {
    JsonObject measure(RawMechanism mechanism) throws IOException, InterruptedException;
  }

  /**
   * @param raw the raw PKCS#11 results by operation id, each scenario's own among them (a scenario without one is
   *     reported without a ratio)
   */
  KeyTypeScenarios(Plan plan, ScenarioRunner runner, Map<String, JsonObject> raw, PrintStream out) {
    this.plan = plan;
    this.runner = runner;
    this.kms = runner.kms();
    this.raw = raw;
    this.out = out;
  }

  /** In full mode, measures the raw rate around each scenario at 32 connections with this. */
  void rawNow(RawNow measure) {
    this.rawNow = measure;
  }

  /** The cases {@code --only} selects (all without it). */
  static List<Case> selected(String only) {
    return java.util.Arrays.stream(Case.values()).filter(c -> ScenarioRunner.selects(only, c.scenario)).toList();
  }

  /** The keys the scenarios made (asymmetric and HMAC keys: no Encrypt with them). */
  java.util.Set<String> keyIds() {
    return java.util.Set.copyOf(keys.values());
  }

  /** The scenarios the gateway did not offer (UnsupportedOperationException): name and its answer. */
  JsonArray skipped() {
    return skipped;
  }

  /** Runs the selected cases at the plan's connections; their results go to the runner's. */
  void run(String only) throws IOException, InterruptedException {
    for (Case c : selected(only)) {
      IntFunction<byte[]> requests = requests(c);
      if (requests == null) {
        continue;
      }
      if (plan.keyTypeWarmupSeconds() > 0) {
        runner.scenario("warm-up " + c.scenario + " (not reported)", 32, plan.keyTypeWarmupSeconds(), DISTINCT,
            requests, false);
      }
      for (int connections : plan.keyTypeConnections()) {
        // in full mode the raw rate is measured again right before and right after the scenario at 32 connections
        // (the floors' figure): on a shared machine the rate drifts by more than the floors' margins in minutes
        boolean bracket = plan.full() && connections == 32 && rawNow != null && runner.selected(c.scenario);
        JsonObject before = bracket ? rawNow.measure(c.raw) : null;
        JsonObject r = runner.scenario(c.scenario, connections, plan.keyTypeSeconds(), DISTINCT, requests, true);
        JsonObject after = bracket ? rawNow.measure(c.raw) : null;
        if (r != null) {
          compare(r, c.raw, bracket ? List.of(before, after) : raw.containsKey(c.raw.id())
              ? List.of(raw.get(c.raw.id())) : List.of());
          if (r.containsKey("ratio_to_raw")) {
            out.printf("  %-40s %8.0f ops/s raw %s: %.0f%% of it, %.0f%% by CPU (%.0f us per call, %.0f us per "
                + "request with wrk)%n", "", r.getDouble("raw_ops_per_second"),
                r.getJsonArray("raw_runs_ops_per_second").encode(), 100 * r.getDouble("ratio_to_raw"), 100 * r.getDouble("cpu_ratio_to_raw"),
                r.getDouble("raw_cpu_us_per_op"), r.getDouble("cpu_us_per_request"));
          }
        }
      }
    }
  }

  /**
   * Sets a scenario's result against the raw loop of its HSM call: the rate (the mean of the raw runs given), the
   * ratio of the rates, and the same by CPU: the raw loop's CPU per call over the CPU per request of the gateway and
   * wrk together, which on a machine whose two cores both run flat out predicts the rate ratio and drifts less with
   * what else the machine does.
   */
  static void compare(JsonObject r, RawMechanism mechanism, List<JsonObject> raws) {
    if (raws.isEmpty()) {
      return;
    }
    double rawRate = raws.stream().mapToDouble(x -> x.getDouble("ops_per_second")).average().orElseThrow();
    double rawCpu = raws.stream().mapToDouble(x -> x.getDouble("cpu_us_per_op")).average().orElseThrow();
    double requests = Math.max(1, r.getLong("requests"));
    double cpuPerRequest = (r.getDouble("server_cpu_seconds") + r.getDouble("load_generator_cpu_seconds")) * 1e6
        / requests;
    JsonArray runs = new JsonArray();
    raws.forEach(x -> runs.add(x.getDouble("ops_per_second")));
    r.put("raw_mechanism", mechanism.id()).put("raw_ops_per_second", rawRate).put("raw_runs_ops_per_second", runs)
        .put("ratio_to_raw", r.getDouble("requests_per_second") / rawRate)
        .put("raw_cpu_us_per_op", rawCpu)
        .put("cpu_us_per_request", Math.round(cpuPerRequest * 10) / 10.0)
        .put("cpu_ratio_to_raw", rawCpu / cpuPerRequest);
  }

  /**
   * The case's request {@code i}, after one request of each kind went through (so that the key's handles are cached
   * and no C_FindObjects falls into the measurement); null, with the case in {@link #skipped()}, when the gateway
   * answers UnsupportedOperationException.
   */
  private IntFunction<byte[]> requests(Case c) throws IOException, InterruptedException {
    String keyId = key(c);
    if (keyId == null) {
      return null;
    }
    List<JsonObject> bodies = bodies(c, keyId);
    if (bodies == null) {
      return null;
    }
    if (unsupported(c, kms.send(c.operation, bodies.get(0)))) {
      return null;
    }
    return i -> kms.rawRequest(c.operation, bodies.get(i % bodies.size()));
  }

  /**
   * The case's {@link #DISTINCT} request bodies: SHA-256-sized digests to sign, digests with the gateway's own
   * signatures of them to verify, 32-byte messages to MAC, the JDK's P-256 public keys to agree with; null when the
   * gateway refused to sign (Verify's signatures are made by Sign).
   */
  private List<JsonObject> bodies(Case c, String keyId) throws IOException, InterruptedException {
    List<JsonObject> bodies = new ArrayList<>();
    switch (c) {
      case SIGN_RSA, SIGN_ECDSA -> {
        String algorithm = c == Case.SIGN_RSA ? "RSASSA_PSS_SHA_256" : "ECDSA_SHA_256";
        randomValues(32).forEach(d -> bodies.add(signBody(keyId, d, algorithm)));
      }
      case VERIFY_ECDSA -> {
        for (byte[] digest : randomValues(32)) {
          JsonObject sign = signBody(keyId, digest, "ECDSA_SHA_256");
          KmsHttp.Answer signed = kms.send("Sign", sign);
          if (unsupported(c, signed)) {
            return null;
          }
          bodies.add(sign.copy().put("Signature", signed.body().getString("Signature")));
        }
      }
      case GENERATE_MAC -> randomValues(32).forEach(m -> bodies.add(new JsonObject().put("KeyId", keyId)
          .put("Message", base64(m)).put("MacAlgorithm", "HMAC_SHA_256")));
      case DERIVE_SHARED_SECRET -> PeerKeys.p256(DISTINCT).forEach(p -> bodies.add(new JsonObject()
          .put("KeyId", keyId).put("KeyAgreementAlgorithm", "ECDH").put("PublicKey", base64(p))));
    }
    return bodies;
  }

  /** The case's key (one per spec and usage, shared by the cases that can), made now; null when refused. */
  private String key(Case c) throws IOException, InterruptedException {
    String kind = c.keySpec + "/" + c.keyUsage;
    if (!keys.containsKey(kind)) {
      KmsHttp.Answer created = kms.send("CreateKey", new JsonObject().put("Description", "benchmark " + kind)
          .put("KeySpec", c.keySpec).put("KeyUsage", c.keyUsage));
      if (unsupported(c, created)) {
        return null;
      }
      keys.put(kind, created.body().getJsonObject("KeyMetadata").getString("KeyId"));
    }
    return keys.get(kind);
  }

  /**
   * Whether the gateway refused the case as unsupported (then recorded and announced); any other failure is the
   * run's.
   */
  private boolean unsupported(Case c, KmsHttp.Answer answer) throws IOException {
    if (answer.status() == 200) {
      return false;
    }
    if (answer.errorType().equals("UnsupportedOperationException")) {
      skipped.add(new JsonObject().put("scenario", c.scenario).put("answer", answer.errorMessage()));
      out.printf("  %-40s skipped: %s%n", c.scenario, answer.errorMessage());
      return true;
    }
    throw new IOException(c.scenario + ": the gateway answered " + answer.status() + " " + answer.body().encode());
  }

  private static JsonObject signBody(String keyId, byte[] digest, String algorithm) {
    return new JsonObject().put("KeyId", keyId).put("Message", base64(digest)).put("MessageType", "DIGEST")
        .put("SigningAlgorithm", algorithm);
  }

  private List<byte[]> randomValues(int length) {
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < DISTINCT; i++) {
      byte[] v = new byte[length];
      random.nextBytes(v);
      values.add(v);
    }
    return values;
  }

  private static String base64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }
}
