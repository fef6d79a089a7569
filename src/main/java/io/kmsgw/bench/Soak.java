package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * {@code kmsgw bench --soak MINUTES}: a mixed load (the 80/15/5 envelope-encryption mix) at half the gateway's
 * measured peak rate for a long time, with the gateway's resident memory, threads, open files, HSM sessions and HSM
 * objects sampled every few seconds, and the trend of each ({@link Trend}): a resource that leaks rises steadily.
 *
 * <p>The load is paced with wrk's per-connection pause after each answer; a minute-long segment is signed just
 * before it runs (a SigV4 signature is valid for 5 minutes), and the connection count is corrected after each
 * segment towards the target rate.
 */
final class Soak {
  static final int PAUSE_MILLIS = 10;
  private static final int SEGMENT_SECONDS = 60;
  private static final int SAMPLE_SECONDS = 10;

  /** The rise each quantity may show over the window regardless of its noise. */
  static final Map<String, Double> TOLERANCE = Map.of(
      "rss_mib", 16.0, "live_heap_mib", 8.0, "threads", 2.0, "open_files_besides_clients", 4.0, "hsm_sessions", 1.0, "hsm_objects", 0.0,
      "keys", 0.0);

  private static final List<String> QUANTITIES =
      List.of("rss_mib", "live_heap_mib", "threads", "open_files_besides_clients", "hsm_sessions", "hsm_objects", "keys");

  /** Quantities that a steady load of crypto calls must leave exactly as they are (see {@link Trend}). */
  static final List<String> EXACT = List.of("hsm_sessions", "hsm_objects", "keys");

  private final KmsHttp kms;
  private final long pid;
  private final Path tokenDir;
  private final Wrk wrk;
  private final PrintStream out;
  private final List<JsonObject> samples = new ArrayList<>();
  /** The heap's live data after each segment (a full collection each, so only between segments). */
  private final List<JsonObject> heapSamples = new ArrayList<>();
  /** Samples are taken only while wrk runs: between segments its connections are closed and not yet reopened. */
  private volatile boolean loading;
  /** wrk's connections in the running segment: each is an open file of the gateway's that is not its own. */
  private volatile int clientConnections;

  /** @param tokenDir the SoftHSM2 token directory of the gateway's default store, or null where it is not known */
  Soak(KmsHttp kms, long pid, Path tokenDir, Path work, PrintStream out) throws IOException {
    this.kms = kms;
    this.pid = pid;
    this.tokenDir = tokenDir;
    this.wrk = new Wrk(work, kms.endpointUri());
    this.out = out;
  }

  /** Runs the soak for {@code minutes}; the report (samples, trends, rates, errors). */
  JsonObject run(int minutes) throws IOException, InterruptedException {
    String keyId = kms.call("CreateKey", new JsonObject().put("Description", "soak key"))
        .getJsonObject("KeyMetadata").getString("KeyId");
    Requests requests = Requests.forKey(kms, keyId, new byte[32]);
    IntFunction<byte[]> mix = requests.mix();

    wrk.run(wrk.requestFile("soak-warmup.bin", 400, mix), 32, 20);
    JsonObject peakRun = wrk.run(wrk.requestFile("soak-peak.bin", 400, mix), 32, 10);
    double peak = Wrk.rps(peakRun);
    double target = peak / 2;
    out.printf("peak (mix @32, unpaced): %.0f req/s; soaking at %.0f req/s for %d min%n", peak, target, minutes);

    long start = System.nanoTime();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "soak-sampler");
      t.setDaemon(true);
      return t;
    });
    // the first sample a few seconds into the first segment, once wrk's connections are open
    sampler.scheduleAtFixedRate(() -> sample(start), 5, SAMPLE_SECONDS, TimeUnit.SECONDS);
    int connections = Math.max(2, (int) Math.round(target * (PAUSE_MILLIS + 1) / 1000.0));
    // a machine that slows down (another tenant) cannot give the target rate at any pace: past four times the first
    // estimate, more connections would only turn the paced load into a saturating one
    int maxConnections = 4 * connections;
    long totalRequests = 0;
    long errors = 0;
    JsonArray segments = new JsonArray();
    long end = start + TimeUnit.MINUTES.toNanos(minutes);
    try {
      while (System.nanoTime() < end - TimeUnit.SECONDS.toNanos(2)) {
        int seconds = (int) Math.min(SEGMENT_SECONDS, TimeUnit.NANOSECONDS.toSeconds(end - System.nanoTime()));
        Path file = wrk.requestFile("soak.bin", 400, mix);
        clientConnections = connections;
        loading = true;
        JsonObject r;
        try {
          r = wrk.run(file, connections, seconds, PAUSE_MILLIS);
        } finally {
          loading = false;
        }
        double rate = Wrk.rps(r);
        totalRequests += r.getLong("requests");
        errors += Wrk.errors(r);
        segments.add(new JsonObject().put("connections", connections).put("requests_per_second", Math.round(rate))
            .put("p99_ms", r.getLong("p99_us") / 1000.0).put("errors", Wrk.errors(r)));
        out.printf("  %5.1f min  %4d connections  %7.0f req/s  p99 %6.2f ms  errors %d  %s%n",
            (System.nanoTime() - start) / 60e9, connections, rate, r.getLong("p99_us") / 1000.0, Wrk.errors(r),
            lastSample());
        connections = nextConnections(connections, rate, target, maxConnections);
        double live = LiveHeap.afterFullGcMiB(pid);
        synchronized (this) {
          heapSamples.add(new JsonObject().put("t_s", Math.round((System.nanoTime() - start) / 1e8) / 10.0)
              .put("live_heap_mib", live < 0 ? null : Math.round(live * 10) / 10.0));
        }
      }
    } finally {
      sampler.shutdown();
      sampler.awaitTermination(30, TimeUnit.SECONDS);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    JsonObject trends = trends();
    boolean flat = trends.stream().allMatch(e -> ((JsonObject) e.getValue()).getBoolean("flat"));
    return new JsonObject()
        .put("minutes", minutes)
        .put("peak_requests_per_second", peak)
        .put("target_requests_per_second", target)
        .put("requests_per_second", totalRequests / seconds)
        .put("requests", totalRequests)
        .put("errors", errors)
        .put("pause_ms", PAUSE_MILLIS)
        .put("segments", segments)
        .put("trends", trends)
        .put("flat", flat)
        .put("samples", new JsonArray(new ArrayList<>(samples)))
        .put("heap_samples", new JsonArray(new ArrayList<>(heapSamples)));
  }

  /**
   * The connection count that would have made the segment's rate the target (each connection is paced alike), at
   * least 2 and at most {@code max}.
   */
  static int nextConnections(int connections, double achieved, double target, int max) {
    if (achieved <= 0) {
      return connections;
    }
    return (int) Math.max(2, Math.min(max, Math.round(connections * target / achieved)));
  }

  private synchronized String lastSample() {
    if (samples.isEmpty()) {
      return "";
    }
    JsonObject s = samples.get(samples.size() - 1);
    return String.format("RSS %.0f MiB, %s threads, %s fds (%s besides clients), %s sessions, %s objects",
        s.getDouble("rss_mib"), s.getValue("threads"), s.getValue("open_files"),
        s.getValue("open_files_besides_clients"), s.getValue("hsm_sessions"), s.getValue("hsm_objects"));
  }

  private void sample(long start) {
    if (!loading) {
      return;
    }
    long openFiles = ProcStats.openFiles(pid);
    JsonObject s = new JsonObject().put("t_s", Math.round((System.nanoTime() - start) / 1e8) / 10.0)
        .put("rss_mib", Math.round(ProcStats.rssMiB(pid) * 10) / 10.0)
        .put("threads", ProcStats.threads(pid))
        .put("open_files", openFiles)
        .put("client_connections", clientConnections)
        .put("open_files_besides_clients", openFilesBesides(openFiles, clientConnections))
        .put("hsm_objects", tokenObjects());
    try {
      JsonObject health = kms.health();
      JsonObject pool = health.getJsonObject("pool");
      s.put("hsm_sessions", pool == null ? null : pool.getLong("open"));
      s.put("keys", health.getLong("keys"));
    } catch (IOException | RuntimeException e) {
      s.put("hsm_sessions", null).put("keys", null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    synchronized (this) {
      samples.add(s);
    }
  }

  /**
   * The gateway's open files less the load generator's connections: the pacing changes the connection count from
   * segment to segment, which says nothing about a leak. -1 where the files could not be counted.
   */
  static long openFilesBesides(long openFiles, int connections) {
    return openFiles < 0 ? -1 : openFiles - connections;
  }

  /** SoftHSM2's file store keeps one {@code .object} file per token object; null where the token is not ours. */
  private Long tokenObjects() {
    if (tokenDir == null) {
      return null;
    }
    try (var files = Files.walk(tokenDir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".object")).count();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The trend of each quantity over the measured window: the samples after the first minute or the first tenth of
   * the run, whichever is longer (heap and pools grow to their working size first), or all of them when that
   * leaves fewer than three.
   */
  synchronized JsonObject trends() {
    double last = samples.isEmpty() ? 0 : samples.get(samples.size() - 1).getDouble("t_s");
    double from = Math.max(60, last / 10);
    List<JsonObject> all = new ArrayList<>(samples);
    all.addAll(heapSamples);
    List<JsonObject> window = all.stream().filter(s -> s.getDouble("t_s") >= from).toList();
    if (window.stream().filter(s -> s.containsKey("rss_mib")).count() < 3) {
      window = all;
    }
    JsonObject trends = new JsonObject();
    Map<String, Double> ordered = new LinkedHashMap<>();
    for (String k : QUANTITIES) {
      ordered.put(k, TOLERANCE.get(k));
    }
    for (Map.Entry<String, Double> q : ordered.entrySet()) {
      List<Double> t = new ArrayList<>();
      List<Double> v = new ArrayList<>();
      for (JsonObject s : window) {
        Object value = s.getValue(q.getKey());
        if (value instanceof Number n && n.doubleValue() >= 0) {
          t.add(s.getDouble("t_s"));
          v.add(n.doubleValue());
        }
      }
      if (v.size() < 2) {
        continue; // not measurable here (a gateway of another machine, or its details not readable)
      }
      Trend tr = Trend.of(q.getKey(), t, v, q.getValue(), EXACT.contains(q.getKey()));
      trends.put(q.getKey(), new JsonObject().put("samples", tr.samples()).put("first", tr.first())
          .put("last", tr.last()).put("min", tr.min()).put("max", tr.max())
          .put("slope_per_hour", Math.round(tr.slopePerHour() * 100) / 100.0)
          .put("rise_over_window", Math.round(tr.riseOverWindow() * 100) / 100.0)
          .put("noise", Math.round(tr.noise() * 100) / 100.0).put("tolerance", tr.tolerance())
          .put("flat", tr.flat()));
    }
    return trends;
  }
}
