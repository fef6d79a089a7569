package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Measures one scenario at a time: writes its file of pre-signed requests, replays it with wrk, and records
 * throughput, latency, errors, the gateway's CPU time (by thread group), peak RSS, the load generator's CPU, the
 * machine's idle, iowait and steal time, and the PKCS#11 calls and slow audit writes the gateway counted meanwhile.
 */
final class ScenarioRunner {
  private final KmsHttp kms;
  private final long pid;
  private final Wrk wrk;
  private final PrintStream out;
  private final List<JsonObject> results = new ArrayList<>();
  private String only;

  ScenarioRunner(KmsHttp kms, long pid, Wrk wrk, PrintStream out) {
    this.kms = kms;
    this.pid = pid;
    this.wrk = wrk;
    this.out = out;
  }

  /** Runs only the scenarios whose name starts with one of these comma-separated prefixes (for profiling). */
  void only(String prefixes) {
    this.only = prefixes;
  }

  /** Whether {@code --only} (if given) selects the scenario of this name. */
  boolean selected(String name) {
    return selects(only, name);
  }

  /** Whether {@code only} (comma-separated name prefixes, or null for every scenario) selects this name. */
  static boolean selects(String only, String name) {
    if (only == null) {
      return true;
    }
    for (String prefix : only.split(",")) {
      if (name.startsWith(prefix.strip())) {
        return true;
      }
    }
    return false;
  }

  List<JsonObject> results() {
    return results;
  }

  Wrk wrk() {
    return wrk;
  }

  KmsHttp kms() {
    return kms;
  }

  /**
   * Runs a scenario of {@code distinct} requests made by {@code request}; a reported one (when selected) adds its
   * result to {@link #results()} and returns it, a warm-up waits for the JIT to go quiet and returns null.
   */
  JsonObject scenario(String name, int connections, int seconds, int distinct, IntFunction<byte[]> request,
      boolean report) throws IOException, InterruptedException {
    if (report && !selected(name)) {
      return null;
    }
    Path file = wrk.requestFile("requests.bin", distinct, request);
    JsonObject healthBefore = kms.health();
    double cpuBefore = ProcStats.cpuSeconds(pid);
    double loadCpuBefore = ProcStats.endedChildrenCpuSeconds();
    Map<String, Double> threadsBefore = ProcStats.cpuByThreadGroup(pid);
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
      return null;
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
    return r;
  }

  private static final String[] MACHINE_FIELDS = {
      "machine_idle_seconds", "machine_iowait_seconds", "machine_steal_seconds"};

  /**
   * Idle, iowait and steal seconds of this machine (where the benchmark runs) since {@code before}, to its clock
   * ticks, as report fields; null where /proc/stat could not be read.
   */
  static JsonObject machineSince(double[] before) {
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
  String settleJit() throws InterruptedException {
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
}
