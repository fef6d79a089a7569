package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * Runs the scenarios against a gateway: builds a file of pre-signed requests per scenario (signed just before
 * the run; a SigV4 signature is valid for 5 minutes), replays them with wrk from a separate process, and records
 * throughput, latency, errors, the gateway's CPU time, peak RSS and PKCS#11 call counts.
 */
final class Benchmark {
  private final Plan plan;
  private final KmsHttp kms;
  private final Wrk wrk;
  private final PrintStream out;
  private final ScenarioRunner runner;
  private final Random random = new Random(42);
  private String only;
  private Map<String, JsonObject> raw = Map.of();
  private JsonArray skipped = new JsonArray();
  private KeyTypeScenarios.RawNow rawNow;
  /** Keys the spread scenario must leave out: they cannot encrypt. */
  private java.util.Set<String> keyTypeKeys = java.util.Set.of();
  private io.kmsgw.client.XksHttp xks;
  private JsonObject interleaved;
  private JsonArray coldStart;

  /** Adds the XKS scenarios, through the development endpoint {@code kmsgw-dev} with this client. */
  void xks(io.kmsgw.client.XksHttp client) {
    this.xks = client;
  }

  /** Runs only the scenarios whose name starts with one of these comma-separated prefixes (for profiling). */
  void only(String prefix) {
    this.only = prefix;
    runner.only(prefix);
  }

  /** The raw PKCS#11 results by operation id, for the key-type scenarios' ratios. */
  void raw(Map<String, JsonObject> results) {
    this.raw = results;
  }

  /** Measures one raw operation now: in full mode, around each key-type scenario at 32 connections. */
  void rawNow(KeyTypeScenarios.RawNow measure) {
    this.rawNow = measure;
  }

  /** The key-type scenarios the gateway refused as unsupported (none when it has every operation). */
  JsonArray skipped() {
    return skipped;
  }

  Benchmark(Plan plan, KmsHttp kms, long pid, Path work, PrintStream out) throws IOException {
    this.plan = plan;
    this.kms = kms;
    this.out = out;
    this.wrk = new Wrk(work, kms.endpointUri());
    this.runner = new ScenarioRunner(kms, pid, wrk, out);
  }

  List<JsonObject> results() {
    return runner.results();
  }

  /** Runs every scenario; returns the results in order. */
  void run() throws IOException, InterruptedException {
    // tagged for the development XKS endpoint, which serves only the keys tagged for it (docs/xks.md)
    String keyId = kms.call("CreateKey", new JsonObject().put("Description", "benchmark key").put("Tags",
            new io.vertx.core.json.JsonArray().add(new JsonObject().put("TagKey", "kmsgw:xks-endpoint")
                .put("TagValue", "dev")))).getJsonObject("KeyMetadata").getString("KeyId");
    byte[] small = new byte[32];
    byte[] large = new byte[4096];
    random.nextBytes(small);
    random.nextBytes(large);
    Requests requests = Requests.forKey(kms, keyId, small);
    IntFunction<byte[]> encrypt32 = requests.encryptSmall();
    IntFunction<byte[]> encrypt4k = requests.encrypt(large);
    IntFunction<byte[]> decrypt = requests.decrypt();
    IntFunction<byte[]> dataKey = requests.dataKey();
    IntFunction<byte[]> mix = requests.mix();

    coldStart(encrypt32);
    scenario("warm-up (not reported)", 32, plan.warmupSeconds(), 256, encrypt32, false);
    for (int c : plan.connections()) {
      scenario("Encrypt 32 B", c, plan.seconds(), 256, encrypt32, true);
    }
    for (int c : plan.connections()) {
      scenario("Encrypt 4096 B", c, plan.seconds(), 64, encrypt4k, true);
    }
    for (int c : plan.connections()) {
      scenario("Decrypt", c, plan.seconds(), 256, decrypt, true);
    }
    for (int c : plan.connections()) {
      scenario("GenerateDataKey", c, plan.seconds(), 256, dataKey, true);
    }
    for (int c : plan.connections()) {
      scenario("Mix 80/15/5", c, plan.seconds(), 400, mix, true);
    }
    if (xks != null) {
      xksScenarios(keyId, small);
    }
    KeyTypeScenarios keyTypes = new KeyTypeScenarios(plan, runner, raw, out);
    keyTypes.rawNow(rawNow);
    keyTypes.run(only);
    skipped = keyTypes.skipped();
    keyTypeKeys = keyTypes.keyIds();
    scenario("CreateKey", 8, plan.createKeySeconds(), 64,
        i -> kms.rawRequest("CreateKey", new JsonObject().put("Description", "bench " + i)), true);

    String spreadName = "Encrypt 32 B over " + plan.spreadKeys() + " keys";
    if (!runner.selected(spreadName) && !runner.selected(ONE_KEY_AMONG + plan.spreadKeys())) {
      return; // --only left the spread out: no need to create its keys
    }
    List<String> keys = keysForSpread(plan.spreadKeys());
    IntFunction<byte[]> spread = i -> kms.rawRequest("Encrypt", Requests.encryptBody(keys.get(i % keys.size()), small));
    scenario("warm-up over " + keys.size() + " keys (not reported)", 32, plan.warmupSeconds(), keys.size(), spread,
        false);
    scenario(spreadName, 32, plan.seconds(), keys.size(), spread, true);
    // the first key again, now that the token holds the spread keys too: set against the spread scenario, this
    // separates the gateway's per-key work from the HSM's own cost of holding more objects (docs/performance.md)
    scenario(ONE_KEY_AMONG + plan.spreadKeys(), 32, plan.seconds(), 256, encrypt32, true);
    if (runner.selected(spreadName)) {
      interleaved(spreadName, encrypt32, spread, keys.size());
    }
  }

  /** The name of the one-key scenario run after the spread keys exist, up to their count. */
  static final String ONE_KEY_AMONG = "Encrypt 32 B, one key among ";

  /** XKS Encrypt (with AAD, as KMS sends it) and Decrypt of a 32-byte data key with a gateway key. */
  private void xksScenarios(String keyId, byte[] plaintext) throws IOException, InterruptedException {
    String base = "/kmsgw-dev/kms/xks/v1/keys/" + keyId;
    String aad = Base64.getEncoder().encodeToString("kms blob header and encryption context".getBytes(
        StandardCharsets.UTF_8));
    java.util.function.Supplier<JsonObject> encrypt = () -> new JsonObject()
        .put("requestMetadata", io.kmsgw.client.XksHttp.requestMetadata("GenerateDataKey"))
        .put("plaintext", Base64.getEncoder().encodeToString(plaintext)).put("additionalAuthenticatedData", aad)
        .put("encryptionAlgorithm", "AES_GCM");
    List<JsonObject> sealed = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      sealed.add(xks.call(base + "/encrypt", encrypt.get()));
    }
    IntFunction<byte[]> xksEncrypt = i -> xks.rawRequest(base + "/encrypt", encrypt.get());
    IntFunction<byte[]> xksDecrypt = i -> {
      JsonObject s = sealed.get(i % sealed.size());
      return xks.rawRequest(base + "/decrypt", new JsonObject()
          .put("requestMetadata", io.kmsgw.client.XksHttp.requestMetadata("Decrypt"))
          .put("ciphertext", s.getString("ciphertext")).put("ciphertextMetadata", s.getString("ciphertextMetadata"))
          .put("initializationVector", s.getString("initializationVector"))
          .put("authenticationTag", s.getString("authenticationTag")).put("additionalAuthenticatedData", aad)
          .put("encryptionAlgorithm", "AES_GCM"));
    };
    for (int c : plan.connections()) {
      scenario("XKS Encrypt 32 B", c, plan.seconds(), 256, xksEncrypt, true);
    }
    for (int c : plan.connections()) {
      scenario("XKS Decrypt", c, plan.seconds(), 256, xksDecrypt, true);
    }
  }

  private String createKey(String description) throws IOException, InterruptedException {
    return kms.call("CreateKey", new JsonObject().put("Description", description)).getJsonObject("KeyMetadata")
        .getString("KeyId");
  }

  /**
   * At least {@code count} symmetric key ids: those that exist (the CreateKey scenario made many; not the key-type
   * scenarios' keys), topped up if needed.
   */
  private List<String> keysForSpread(int count) throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    String marker = null;
    do {
      JsonObject body = new JsonObject().put("Limit", 1000);
      if (marker != null) {
        body.put("Marker", marker);
      }
      JsonObject page = kms.call("ListKeys", body);
      page.getJsonArray("Keys").stream().map(k -> ((JsonObject) k).getString("KeyId"))
          .filter(id -> !keyTypeKeys.contains(id)).forEach(ids::add);
      marker = page.getString("NextMarker");
    } while (marker != null && ids.size() < count);
    while (ids.size() < count) {
      ids.add(createKey("spread"));
    }
    return ids.subList(0, count);
  }

  private void scenario(String name, int connections, int seconds, int distinct, IntFunction<byte[]> request,
      boolean report) throws IOException, InterruptedException {
    runner.scenario(name, connections, seconds, distinct, request, report);
  }

  /**
   * Encrypt over the spread keys against Encrypt over one key, in alternating segments (A B, B A, A B, ...) of a few
   * seconds at 32 connections, the token holding the same objects in both. Separate runs minutes apart compare the
   * machine's drift as much as the two workloads (this machine's rate moves by 15% between runs); alternating puts
   * the drift on both alike. Each workload's requests over its segments' time, spread over one key, is the floor's
   * spread ratio.
   */
  private void interleaved(String spreadName, IntFunction<byte[]> oneKey, IntFunction<byte[]> spread, int keys)
      throws IOException, InterruptedException {
    int rounds = plan.full() ? 6 : 2;
    int seconds = Math.max(1, plan.seconds() / 3);
    Path[] files = {wrk.requestFile("one-key.bin", 256, oneKey), wrk.requestFile("spread.bin", keys, spread)};
    JsonObject healthBefore = kms.health();
    long[] requests = new long[2];
    long[] micros = new long[2];
    long errors = 0;
    JsonArray segments = new JsonArray();
    for (int round = 0; round < rounds; round++) {
      for (int k = 0; k < 2; k++) {
        int which = round % 2 == 0 ? k : 1 - k;
        double[] machineBefore = ProcStats.machineIdleIowaitSteal();
        JsonObject w = wrk.run(files[which], 32, seconds);
        JsonObject machine = ScenarioRunner.machineSince(machineBefore);
        requests[which] += w.getLong("requests");
        micros[which] += w.getLong("duration_us");
        errors += Wrk.errors(w);
        segments.add(new JsonObject().put("workload", which == 0 ? "one key" : "spread")
            .put("requests_per_second", Math.round(Wrk.rps(w))).put("errors", Wrk.errors(w)).mergeIn(machine));
      }
    }
    double oneKeyRate = requests[0] / (micros[0] / 1e6);
    double spreadRate = requests[1] / (micros[1] / 1e6);
    interleaved = new JsonObject()
        .put("scenario", spreadName + " against one key among them, interleaved")
        .put("connections", 32)
        .put("rounds", rounds)
        .put("segment_seconds", seconds)
        .put("one_key_requests_per_second", oneKeyRate)
        .put("spread_requests_per_second", spreadRate)
        .put("ratio", spreadRate / oneKeyRate)
        .put("errors", errors)
        .put("pkcs11_calls", ScenarioRunner.pkcs11CallsSince(healthBefore, kms.health()))
        .put("segments", segments);
    out.printf("  %-40s %8.0f req/s against %.0f req/s over one key: %.0f%% (%d rounds of %d s + %d s)%n",
        "interleaved: over " + keys + " keys @32", spreadRate, oneKeyRate, 100 * spreadRate / oneKeyRate, rounds,
        seconds, seconds);
  }

  /**
   * The first seconds of load on a gateway that has just started: Encrypt 32 B at 32 connections in one-second runs,
   * each second's rate, before any warm-up (the JIT compiles the hot path under this load).
   */
  private void coldStart(IntFunction<byte[]> encrypt32) throws IOException, InterruptedException {
    Path file = wrk.requestFile("cold-start.bin", 256, encrypt32);
    coldStart = new JsonArray();
    long start = System.nanoTime();
    for (int i = 0; i < plan.coldStartSeconds(); i++) {
      JsonObject r = wrk.run(file, 32, 1);
      coldStart.add(new JsonObject().put("t_s", Math.round((System.nanoTime() - start) / 1e8) / 10.0)
          .put("requests_per_second", Math.round(Wrk.rps(r))).put("errors", Wrk.errors(r)));
    }
    out.printf("  %-40s %s req/s%n", "cold start: Encrypt 32 B @32 per second", coldStart.stream()
        .map(o -> ((JsonObject) o).getLong("requests_per_second").toString()).toList());
  }

  /**
   * The cold start against the warm rate {@code peak}: each second's rate, and the seconds (from the first request)
   * until a second reached 90% of the peak; null there when none did within the measured seconds.
   */
  JsonObject coldStart(double peak) {
    if (coldStart == null) {
      return null;
    }
    Double reached = null;
    for (Object o : coldStart) {
      JsonObject s = (JsonObject) o;
      if (s.getLong("requests_per_second") >= 0.9 * peak) {
        reached = s.getDouble("t_s");
        break;
      }
    }
    return new JsonObject().put("peak_requests_per_second", Math.round(peak))
        .put("first_second_ratio_to_peak", coldStart.getJsonObject(0).getLong("requests_per_second") / peak)
        .put("seconds_to_90pct_of_peak", reached).put("seconds", coldStart);
  }

  /** The interleaved spread measurement, or null when it did not run. */
  JsonObject interleaved() {
    return interleaved;
  }

  static JsonArray toArray(List<JsonObject> list) {
    JsonArray a = new JsonArray();
    list.forEach(a::add);
    return a;
  }
}
