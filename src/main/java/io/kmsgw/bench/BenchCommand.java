package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kmsgw bench}: the performance benchmark. Starts a gateway on a fresh SoftHSM2 token and data directory (or
 * targets a running one), measures the raw PKCS#11 rate of the same AES-GCM operation through the gateway's own
 * session pool, drives the gateway with wrk replaying pre-signed requests, prints a table, writes a JSON report,
 * and checks the floor (full mode) or that every scenario was error-free (both modes).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure throughput and latency against the raw HSM rate. Short mode by default; --full for the "
        + "complete run that docs/performance.md reports.")
public final class BenchCommand implements Callable<Integer> {
  @Option(names = "--full", description = "the full run (several minutes) instead of the short one (under 2 minutes)")
  boolean full;

  @Option(names = "--endpoint", paramLabel = "URL",
      description = "benchmark a running gateway instead of starting one (credentials from AWS_ACCESS_KEY_ID and "
          + "AWS_SECRET_ACCESS_KEY; --pid for CPU and memory figures)")
  URI endpoint;

  @Option(names = "--pid", description = "the running gateway's process id, with --endpoint")
  long targetPid = -1;

  @Option(names = "--dir", paramLabel = "DIR", description = "working directory (default: target/bench)")
  Path dir = Path.of("target", "bench");

  @Option(names = "--out", paramLabel = "FILE", description = "JSON report (default: <dir>/run-<time>/report.json)")
  Path report;

  @Option(names = "--only", paramLabel = "PREFIXES", description = "run only scenarios whose name starts with one of "
      + "these comma-separated prefixes "
      + "(for profiling; floor checks then apply to what ran)")
  String only;

  @Option(names = "--seconds", description = "seconds per scenario, overriding the mode's")
  int seconds;

  @Option(names = "--cold-start", paramLabel = "SECONDS", description = "seconds of the cold-start measurement, "
      + "overriding the mode's")
  int coldStartSeconds;

  @Option(names = "--soak", paramLabel = "MINUTES", description = "instead of the scenarios: a mixed load at half "
      + "the peak rate for this long, reporting the trends of the gateway's memory, threads, open files, HSM sessions "
      + "and HSM objects (fails when one of them rises)")
  int soakMinutes;

  @Option(names = "--hsm-iv", arity = "0..1", paramLabel = "MODULE", fallbackValue = "",
      description = "instead of the scenarios: Encrypt 32 B @32 with HSM-generated IVs next to caller IVs, through "
          + "the project's PKCS#11 test module (default target/native/libkmsgw-test-pkcs11.so, built by "
          + "'mvn process-test-classes')")
  String hsmIvModule;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    Plan plan = full ? Plan.fullPlan() : Plan.shortPlan();
    if (seconds > 0) {
      plan = plan.withSeconds(seconds);
    }
    if (coldStartSeconds > 0) {
      plan = plan.withColdStartSeconds(coldStartSeconds);
    }
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
    Path work = dir.resolve("run-" + stamp).toAbsolutePath();
    Files.createDirectories(work);
    Path jar = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (soakMinutes > 0) {
      return soak(out, jar, work);
    }
    if (hsmIvModule != null) {
      return HsmIvBench.command(out, plan, jar, work, hsmIvModule, report, machine());
    }
    out.printf("kmsgw bench (%s mode), working in %s%n", plan.mode(), work);

    // the same pool size and key handling the gateway will use (its configuration, from the environment)
    io.kmsgw.config.GatewayConfig.Hsm hsmConfig = io.kmsgw.config.ConfigLoader.load(null, System.getenv()).hsm();
    out.println("raw PKCS#11 rate through the gateway's session pool, no HTTP:");
    List<RawPkcs11Bench.Run> rawRuns = new ArrayList<>();
    rawRuns.add(new RawPkcs11Bench.Run(RawMechanism.AES_GCM, plan.rawSeconds()));
    for (KeyTypeScenarios.Case c : KeyTypeScenarios.selected(only)) {
      rawRuns.add(new RawPkcs11Bench.Run(c.raw, plan.keyTypeRawSeconds()));
    }
    Map<String, JsonObject> rawRates = RawPkcs11Bench.measure(jar, work.resolve("raw"), rawRuns, 32,
        hsmConfig.poolSize(), hsmConfig.sessionKeyCopies());
    rawRates.values().forEach(r -> out.printf("  %-40s %8.0f ops/s%n", r.getString("description") + ", "
        + hsmConfig.poolSize() + " sessions", r.getDouble("ops_per_second")));
    JsonObject raw = rawRates.get(RawMechanism.AES_GCM.id());

    out.println("authorization decision, in process (pure: no I/O):");
    JsonObject authz = AuthzBench.run(plan.full() ? 2000 : 300);
    authz.forEach(e -> out.printf("  %-40s %8.0f ns%n", e.getKey(), ((Number) e.getValue()).doubleValue()));

    out.println("audit append, in process (group commit: line written and fsynced before the future completes):");
    JsonObject audit = AuditBench.run(work.resolve("audit"), plan.full() ? 5000 : 1500);
    for (Object o : audit.getJsonArray("cases")) {
      JsonObject c = (JsonObject) o;
      out.printf("  %-40s %8.0f events/s  p50 %.2f ms  p99 %.2f ms  %.1f events/fsync%n",
          c.getInteger("appenders") + " concurrent appender(s)", c.getDouble("events_per_second"),
          c.getDouble("p50_ms"), c.getDouble("p99_ms"), c.getDouble("events_per_fsync"));
    }

    GatewayUnderTest started = startUnlessEndpoint(out, jar, work, Map.of());
    KmsHttp kms = started != null ? started.client() : endpointClient();
    if (kms == null) {
      return 2;
    }
    long pid = started != null ? started.pid() : targetPid;
    List<JsonObject> results;
    JsonObject interleaved;
    JsonObject coldStart;
    io.vertx.core.json.JsonArray skipped;
    try {
      out.println("scenarios (wrk replaying pre-signed SigV4 requests from a separate process):");
      Benchmark bench = new Benchmark(plan, kms, pid, work, out);
      bench.only(only);
      bench.raw(rawRates);
      int[] rawRun = {0};
      int rawSeconds = plan.keyTypeRawSeconds();
      bench.rawNow(m -> RawPkcs11Bench.measure(jar, work.resolve("raw-" + ++rawRun[0]),
          List.of(new RawPkcs11Bench.Run(m, rawSeconds)), 32, hsmConfig.poolSize(),
          hsmConfig.sessionKeyCopies()).get(m.id()));
      if (started != null) {
        bench.xks(new io.kmsgw.client.XksHttp(kms.endpointUri(), GatewayUnderTest.XKS_ACCESS_KEY_ID,
            GatewayUnderTest.XKS_SECRET, "us-east-1"));
      } else if (System.getenv("KMSGW_DEV_XKS_ACCESS_KEY_ID") != null) {
        // a running development gateway: its kmsgw-dev XKS endpoint, with the credential it was given
        bench.xks(new io.kmsgw.client.XksHttp(kms.endpointUri(), System.getenv("KMSGW_DEV_XKS_ACCESS_KEY_ID"),
            System.getenv("KMSGW_DEV_XKS_SECRET_ACCESS_KEY"), System.getenv().getOrDefault("AWS_DEFAULT_REGION",
                "us-east-1")));
      }
      bench.run();
      results = bench.results();
      interleaved = bench.interleaved();
      skipped = bench.skipped();
      JsonObject warm = Floors.find(results, "Encrypt 32 B", 32);
      coldStart = warm == null ? null : bench.coldStart(warm.getDouble("requests_per_second"));
      if (coldStart != null && started != null) {
        coldStart.put("startup_ms_to_connected", started.startupMillis());
      }
    } finally {
      if (started != null) {
        started.close();
      }
    }

    JsonObject doc = new JsonObject()
        .put("mode", plan.mode())
        .put("time", Instant.now().toString())
        .put("machine", machine())
        .put("raw_pkcs11", raw)
        .put("raw_pkcs11_by_operation", new JsonObject(new java.util.LinkedHashMap<String, Object>(rawRates)))
        .put("authorization_ns", authz)
        .put("audit_append", audit)
        .put("scenarios", Benchmark.toArray(results))
        .put("spread_interleaved", interleaved)
        .put("cold_start", coldStart)
        .put("skipped_scenarios", skipped);
    List<String> failures = Floors.check(plan, rawRates, results, interleaved, skipped, pid >= 0, doc);
    Path reportFile = report != null ? report : work.resolve("report.json");
    Files.writeString(reportFile, doc.encodePrettily(), StandardCharsets.UTF_8);
    out.println();
    out.print(Table.render(rawRates, results));
    out.println();
    out.println("report: " + reportFile);
    if (coldStart != null) {
      Double reached = coldStart.getDouble("seconds_to_90pct_of_peak");
      out.printf("cold start: the first second ran at %.0f%% of the warm Encrypt 32 B @32 rate; 90%% of it %s%n",
          100 * coldStart.getDouble("first_second_ratio_to_peak"), reached == null
              ? "not within " + plan.coldStartSeconds() + " s" : String.format("after %.0f s", reached));
      Long startup = coldStart.getLong("startup_ms_to_connected");
      if (startup != null) {
        out.printf("cold start: %d ms from launching the gateway to its key store's first CONNECTED answer%n", startup);
      }
    }
    JsonObject fl = doc.getJsonObject("floor");
    if (fl != null && fl.getDouble("spread_ratio") != null) {
      out.printf("Encrypt over many keys: %.0f%% of one key among them, interleaved (the floor); in separate runs "
          + "%s of one key at the start and %s of one key among them%n", 100 * fl.getDouble("spread_ratio"),
          percent(fl.getDouble("spread_ratio_separate_runs_start")),
          percent(fl.getDouble("spread_ratio_separate_runs_same_token")));
    }
    if (failures.isEmpty()) {
      out.println(plan.full() ? "PASS: every scenario error-free and the floor is met"
          : "PASS: every scenario error-free");
      return 0;
    }
    failures.forEach(f -> out.println("FAIL: " + f));
    return 1;
  }

  /** The gateway to measure, started on a fresh token and data directory; null with {@code --endpoint}. */
  private GatewayUnderTest startUnlessEndpoint(PrintStream out, Path jar, Path work, Map<String, String> env)
      throws IOException, InterruptedException {
    if (endpoint != null) {
      return null;
    }
    out.println("starting the gateway on a fresh SoftHSM2 token and data directory...");
    return GatewayUnderTest.start(jar, work.resolve("gateway"), env);
  }

  /**
   * The soak's gateway: a fixed heap, every page of it touched at start, so that its resident memory can only rise
   * outside the heap (native memory: the PKCS#11 library, threads, buffers, metaspace, code); the heap itself is
   * judged by its live data after full collections ({@link LiveHeap}).
   */
  static final String SOAK_JAVA_OPTS =
      "-Xms512m -Xmx512m -XX:+AlwaysPreTouch -XX:+ExitOnOutOfMemoryError -XX:MaxDirectMemorySize=64m";

  /** A client of the running gateway named by {@code --endpoint}; null (after saying why) without credentials. */
  private KmsHttp endpointClient() {
    String akid = System.getenv("AWS_ACCESS_KEY_ID");
    String secret = System.getenv("AWS_SECRET_ACCESS_KEY");
    String region = System.getenv().getOrDefault("AWS_DEFAULT_REGION", "us-east-1");
    if (akid == null || secret == null) {
      System.err.println("kmsgw bench --endpoint needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
      return null;
    }
    return new KmsHttp(endpoint, akid, secret, region);
  }

  /** {@code --soak}: the trends of the gateway's resources under a long paced load; 0 when all are flat. */
  private int soak(PrintStream out, Path jar, Path work) throws Exception {
    out.printf("kmsgw bench --soak %d, working in %s%n", soakMinutes, work);
    GatewayUnderTest started = startUnlessEndpoint(out, jar, work, Map.of("KMSGW_JAVA_OPTS", SOAK_JAVA_OPTS));
    KmsHttp kms = started != null ? started.client() : endpointClient();
    if (kms == null) {
      return 2;
    }
    JsonObject result;
    try {
      long pid = started != null ? started.pid() : targetPid;
      Path tokens = started != null ? work.resolve("gateway").resolve("softhsm").resolve("tokens") : null;
      result = new Soak(kms, pid, tokens, work, out).run(soakMinutes);
    } finally {
      if (started != null) {
        started.close();
      }
    }
    JsonObject doc = new JsonObject().put("mode", "soak").put("time", Instant.now().toString())
        .put("machine", machine()).put("soak", result);
    Path reportFile = report != null ? report : work.resolve("report.json");
    Files.writeString(reportFile, doc.encodePrettily(), StandardCharsets.UTF_8);
    out.println();
    out.printf("%-26s %10s %10s %10s %14s %10s  %s%n", "quantity", "first", "last", "max", "slope per hour",
        "noise", "flat");
    JsonObject trends = result.getJsonObject("trends");
    for (String k : trends.fieldNames()) {
      JsonObject t = trends.getJsonObject(k);
      out.printf("%-26s %10.1f %10.1f %10.1f %14.2f %10.2f  %s%n", k, t.getDouble("first"), t.getDouble("last"),
          t.getDouble("max"), t.getDouble("slope_per_hour"), t.getDouble("noise"), t.getBoolean("flat") ? "yes" : "NO");
    }
    out.printf("%.0f req/s on average (target %.0f, half of %.0f), %d errors%n",
        result.getDouble("requests_per_second"), result.getDouble("target_requests_per_second"),
        result.getDouble("peak_requests_per_second"), result.getLong("errors"));
    out.println("report: " + reportFile);
    if (result.getBoolean("flat") && result.getLong("errors") == 0) {
      out.println("PASS: every trend flat and no errors");
      return 0;
    }
    out.println("FAIL: " + (result.getLong("errors") > 0 ? result.getLong("errors") + " errors; " : "")
        + "trends not flat: " + trends.fieldNames().stream()
            .filter(k -> !trends.getJsonObject(k).getBoolean("flat")).toList());
    return 1;
  }

  private static String percent(Double ratio) {
    return ratio == null ? "n/a" : String.format("%.0f%%", 100 * ratio);
  }

  private static JsonObject machine() {
    JsonObject m = new JsonObject()
        .put("cores", Runtime.getRuntime().availableProcessors())
        .put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"))
        .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          m.put("cpu", line.substring(line.indexOf(':') + 1).strip());
          break;
        }
      }
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          m.put("memory", line.substring(9).strip());
          break;
        }
      }
    } catch (IOException e) {
      // not Linux: leave it out
    }
    return m;
  }
}
