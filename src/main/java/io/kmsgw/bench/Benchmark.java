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
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Runs the scenarios against a gateway: builds a file of pre-signed requests per scenario (signed just before
 * the run; a SigV4 signature is valid for 5 minutes), replays them with wrk from a separate process, and records
 * throughput, latency, errors, the gateway's CPU time, peak RSS and PKCS#11 call counts.
 */
final class Benchmark {
  /** What to run: durations and connection counts differ between the short and the full mode. */
  record Plan(String mode, int seconds, int warmupSeconds, List<Integer> connections, int spreadKeys,
      int createKeySeconds, int rawSeconds, int coldStartSeconds) {
    static Plan shortPlan() {
      return new Plan("short", 3, 3, List.of(1, 32), 1_000, 3, 3, 6);
    }

    static Plan fullPlan() {
      return new Plan("full", 15, 10, List.of(1, 8, 32), 10_000, 10, 10, 45);
    }

    Plan withColdStartSeconds(int s) {
      return new Plan(mode, seconds, warmupSeconds, connections, spreadKeys, createKeySeconds, rawSeconds, s);
    }

    Plan withSeconds(int s) {
      return new Plan(mode, s, warmupSeconds, connections, spreadKeys, createKeySeconds, rawSeconds,
          coldStartSeconds);
    }
  }

  private final Plan plan;
  private final KmsHttp kms;
  private final long pid;
  private final Path work;
  private final Wrk wrk;
  private final PrintStream out;
  private final Random random = new Random(42);
  private final List<JsonObject> results = new ArrayList<>();
  private String only;
  private io.kmsgw.client.XksHttp xks;
  private JsonObject interleaved;
  private JsonArray coldStart;

  /** Adds the XKS scenarios, through the development endpoint {@code kmsgw-dev} with this client. */
  void xks(io.kmsgw.client.XksHttp client) {
    this.xks = client;
  }

  /** Runs only the scenarios whose name starts with this (for profiling). */
  void only(String prefix) {
    this.only = prefix;
  }

  Benchmark(Plan plan, KmsHttp kms, long pid, Path work, PrintStream out) throws IOException {
    this.plan = plan;
    this.kms = kms;
    this.pid = pid;
    this.work = work;
    this.out = out;
    this.wrk = new Wrk(work, kms.endpointUri());
  }

  List<JsonObject> results() {
    return results;
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
    scenario("CreateKey", 8, plan.createKeySeconds(), 64,
        i -> kms.rawRequest("CreateKey", new JsonObject().put("Description", "bench " + i)), true);

    String spreadName = "Encrypt 32 B over " + plan.spreadKeys() + " keys";
    if (!selected(spreadName) && !selected(ONE_KEY_AMONG + plan.spreadKeys())) {
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
    if (selected(spreadName)) {
      interleaved(spreadName, encrypt32, spread, keys.size());
    }
  }

  /** Whether {@code --only} (if given) selects the scenario of this name. */
  private boolean selected(String name) {
    return only == null || name.startsWith(only);
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

  /** At least {@code count} key ids: those that exist (the CreateKey scenario made many), topped up if needed. */
  private List<String> keysForSpread(int count) throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    String marker = null;
    do {
      JsonObject body = new JsonObject().put("Limit", 1000);
      if (marker != null) {
        body.put("Marker", marker);
      }
      JsonObject page = kms.call("ListKeys", body);
      page.getJsonArray("Keys").forEach(k -> ids.add(((JsonObject) k).getString("KeyId")));
      marker = page.getString("NextMarker");
    } while (marker != null && ids.size() < count);
    while (ids.size() < count) {
      ids.add(createKey("spread"));
    }
    return ids.subList(0, count);
  }

  private void scenario(String name, int connections, int seconds, int distinct, IntFunction<byte[]> request,
      boolean report) throws IOException, InterruptedException {
    if (report && !selected(name)) {
      return;
    }
    Path file = wrk.requestFile("requests.bin", distinct, request);
    JsonObject healthBefore = kms.health();
    double cpuBefore = ProcStats.cpuSeconds(pid);
    double loadCpuBefore = ProcStats.endedChildrenCpuSeconds();
    java.util.Map<String, Double> threadsBefore = ProcStats.cpuByThreadGroup(pid);
    double[] machineBefore = ProcStats.machineIdleIowaitSteal();
    JsonObject result = wrk.run(file, connections, seconds);
    JsonObject machine = machineSince(machineBefore);
    double cpu = ProcStats.cpuSeconds(pid) - cpuBefore;
    // wrk has exited and been waited for: its CPU (user and system, loopback TCP included) is now in cutime/cstime
    double loadCpu = ProcStats.endedChildrenCpuSeconds() - loadCpuBefore;
    JsonObject byThreads = new JsonObject();
    ProcStats.cpuByThreadGroup(pid).forEach((g, v) -> byThreads.put(g,
        Math.round((v - threadsBefore.getOrDefault(g, 0.0)) * 100) / 100.0));
    JsonObject healthAfter = kms.health();
    if (!report) {
      out.printf("  %-40s %8.0f req/s (warm-up)%s%n", name + " @" + connections, Wrk.rps(result), settleJit());
      return;
    }
    long errors = Wrk.errors(result);
    JsonObject calls = pkcs11CallsSince(healthBefore, healthAfter);
    JsonObject slow = slowAuditWritesSince(healthBefore, healthAfter);
    JsonObject r = new JsonObject()
        .put("scenario", name)
        .put("connections", connections)
        .put("seconds", result.getLong("duration_us") / 1e6)
        .put("requests", result.getLong("requests"))
        .put("requests_per_second", Wrk.rps(result))
        .put("p50_ms", result.getLong("p50_us") / 1000.0)
        .put("p90_ms", result.getLong("p90_us") / 1000.0)
        .put("p99_ms", result.getLong("p99_us") / 1000.0)
        .put("max_ms", result.getLong("max_us") / 1000.0)
        .put("errors", errors)
        .put("server_cpu_seconds", cpu)
        .put("server_cpu_seconds_by_threads", byThreads)
        .put("server_peak_rss_mib", ProcStats.peakRssMiB(pid))
        .put("load_generator_cpu_seconds", Math.round(loadCpu * 100) / 100.0)
        .mergeIn(machine)
        .put("pkcs11_calls", calls)
        .put("audit_writes_over_10ms", slow == null ? null : slow.getLong("count"))
        .put("audit_writes_over_10ms_by_ms", slow == null ? null : slow.getJsonObject("ms"));
    results.add(r);
    double requests = Math.max(1, result.getLong("requests"));
    out.printf("  %-40s %8.0f req/s  p50 %6.2f  p99 %6.2f ms  errors %d  CPU/req: gateway %.1f us, wrk %.1f us%s%n",
        name + " @" + connections, Wrk.rps(result), r.getDouble("p50_ms"), r.getDouble("p99_ms"), errors,
        cpu / requests * 1e6, loadCpu / requests * 1e6,
        slow != null && slow.getLong("count") > 0 ? "  audit writes > 10 ms: " + slow.getLong("count") : "");
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
    int rounds = plan.mode().equals("full") ? 6 : 2;
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
        JsonObject machine = machineSince(machineBefore);
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
        .put("pkcs11_calls", pkcs11CallsSince(healthBefore, kms.health()))
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

  private static final String[] MACHINE_FIELDS = {
      "machine_idle_seconds", "machine_iowait_seconds", "machine_steal_seconds"};

  /**
   * Idle, iowait and steal seconds of this machine (where the benchmark runs) since {@code before}, to its clock
   * ticks, as report fields; null where /proc/stat could not be read.
   */
  private static JsonObject machineSince(double[] before) {
    double[] now = ProcStats.machineIdleIowaitSteal();
    JsonObject d = new JsonObject();
    for (int i = 0; i < MACHINE_FIELDS.length; i++) {
      double v = now[i] - before[i];
      d.put(MACHINE_FIELDS[i], Double.isNaN(v) ? null : Math.round(v * 100) / 100.0);
    }
    return d;
  }

  /**
   * Waits (up to 30 s) until the gateway's JIT compilers have gone quiet: on two busy cores they fall behind during
   * a warm-up and would otherwise compile through the next scenario (measured: most of the gateway's CPU at one
   * connection went to C2 right after a 10-second warm-up).
   */
  private String settleJit() throws InterruptedException {
    if (pid < 0) {
      return "";
    }
    long start = System.nanoTime();
    double before = ProcStats.cpuByThreadGroup(pid).getOrDefault(ProcStats.JIT, 0.0);
    while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30)) {
      Thread.sleep(1000);
      double now = ProcStats.cpuByThreadGroup(pid).getOrDefault(ProcStats.JIT, 0.0);
      if (now - before < 0.02) {
        break;
      }
      before = now;
    }
    return String.format(", JIT quiet after %.0f s", (System.nanoTime() - start) / 1e9);
  }

  /** The PKCS#11 calls the gateway counted between two {@code /healthz} documents. */
  static JsonObject pkcs11CallsSince(JsonObject before, JsonObject after) {
    return difference(before.getJsonObject("pkcs11Calls"), after.getJsonObject("pkcs11Calls"));
  }

  /**
   * The audit trail's durable writes over 10 ms (a disk that stalls) between two {@code /healthz} documents: how
   * many, and their counts by milliseconds; null where the gateway does not report them (an older build).
   */
  static JsonObject slowAuditWritesSince(JsonObject before, JsonObject after) {
    JsonObject b = after.getJsonObject("audit", new JsonObject()).getJsonObject("slowWriteMillis");
    if (b == null) {
      return null;
    }
    JsonObject ms = difference(before.getJsonObject("audit", new JsonObject()).getJsonObject("slowWriteMillis"), b);
    long n = 0;
    for (String k : ms.fieldNames()) {
      n += ms.getLong(k);
    }
    return new JsonObject().put("count", n).put("ms", ms);
  }

  private static JsonObject difference(JsonObject before, JsonObject after) {
    JsonObject d = new JsonObject();
    if (after != null) {
      for (String k : after.fieldNames()) {
        d.put(k, after.getLong(k) - (before == null ? 0L : before.getLong(k, 0L)));
      }
    }
    return d;
  }

  static JsonArray toArray(List<JsonObject> list) {
    JsonArray a = new JsonArray();
    list.forEach(a::add);
    return a;
  }
}
