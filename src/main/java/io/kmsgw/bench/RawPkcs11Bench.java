package io.kmsgw.bench;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import io.kmsgw.keystore.HsmWorkers;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The physical floor: the HSM call of a scenario's request (the same AES-GCM seal an Encrypt does, the same signature
 * a Sign does, ...: {@link RawMechanism}) through the gateway's own PKCS#11 connector, session pool and HSM worker
 * pool, with no HTTP. Run by the benchmark in a process of its own (SoftHSM2 reads {@code SOFTHSM2_CONF} at load), on
 * a fresh token, each operation in turn: a second of warm-up, then the measured seconds.
 *
 * <p>Arguments: token directory, seconds, calls kept in flight, pool size, plaintext bytes, session key copies
 * (true/false, as the gateway's SoftHSM2 profile), optionally the number of keys to spread the calls over (default 1),
 * and optionally the operations to measure, {@code id[:seconds],...} (default {@code aes-gcm}). Prints one JSON line
 * per operation.
 */
public final class RawPkcs11Bench {
  private RawPkcs11Bench() {}

  /** One operation to measure, for {@code seconds}. */
  record Run(RawMechanism mechanism, int seconds) {
    String argument() {
      return mechanism.id() + ":" + seconds;
    }

    static List<Run> parse(String arg, int defaultSeconds) {
      List<Run> runs = new ArrayList<>();
      for (String part : arg.split(",")) {
        String[] p = part.strip().split(":");
        runs.add(new Run(RawMechanism.of(p[0]), p.length > 1 ? Integer.parseInt(p[1]) : defaultSeconds));
      }
      return runs;
    }
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int seconds = Integer.parseInt(args[1]);
    int inFlight = Integer.parseInt(args[2]);
    int poolSize = Integer.parseInt(args[3]);
    int plaintextBytes = Integer.parseInt(args[4]);
    boolean sessionCopies = args.length < 6 || Boolean.parseBoolean(args[5]);
    int keyCount = args.length < 7 ? 1 : Integer.parseInt(args[6]);
    List<Run> runs = Run.parse(args.length < 8 ? RawMechanism.AES_GCM.id() : args[7], seconds);
    String library = io.kmsgw.config.ConfigLoader.findSoftHsmLibrary().orElseThrow();
    SoftHsmTokens.writeConfig(dir.resolve("softhsm2.conf"), dir.resolve("tokens"));
    String label = "raw-" + UUID.randomUUID().toString().substring(0, 8);
    SoftHsmTokens.initToken(library, label, "so-raw-bench".toCharArray(), "raw-bench".toCharArray());
    Hsm hsm = new Pkcs11Connector(new Pkcs11Options(library, label, "raw-bench"::toCharArray, poolSize,
        Duration.ofSeconds(2), Duration.ofSeconds(10), true, sessionCopies, 1)).connect(e -> {});
    ExecutorService threads = Executors.newFixedThreadPool(poolSize);
    HsmWorkers workers = new HsmWorkers(threads, Duration.ofSeconds(2));
    RawMechanism.Settings settings = new RawMechanism.Settings(keyCount, plaintextBytes, new SecureRandom());
    for (Run run : runs) {
      Hsm.SessionWork<?> call = run.mechanism().prepare(hsm, settings);
      JsonObject result = loop(hsm, workers, call, run.seconds(), inFlight)
          .put("mechanism", run.mechanism().id())
          .put("description", run.mechanism().description())
          .put("pool_size", poolSize)
          .put("in_flight", inFlight)
          .put("plaintext_bytes", plaintextBytes)
          .put("keys", keyCount);
      System.out.println(result.encode());
    }
    CompletableFuture.runAsync(() -> { }, threads).get();
    Thread.sleep(200);
    threads.shutdownNow();
    hsm.close();
  }

  /** Keeps {@code inFlight} calls going: one second of warm-up, then {@code seconds} measured. */
  private static JsonObject loop(Hsm hsm, HsmWorkers workers, Hsm.SessionWork<?> call, int seconds, int inFlight)
      throws InterruptedException {
    AtomicLong done = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong inProgress = new AtomicLong();
    long[] window = new long[2];
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> workers.run(hsm, null, call).whenComplete((answer, error) -> {
      if (error != null) {
        errors.incrementAndGet();
      }
      done.incrementAndGet();
      if (System.nanoTime() < window[1]) {
        loop[0].run();
      } else {
        inProgress.decrementAndGet();
      }
    });
    long start = System.nanoTime();
    window[1] = start + Duration.ofSeconds(1 + seconds).toNanos();
    inProgress.set(inFlight);
    for (int i = 0; i < inFlight; i++) {
      loop[0].run();
    }
    Thread.sleep(1000);
    long self = ProcessHandle.current().pid();
    long before = done.get();
    long errorsBefore = errors.get();
    double cpuBefore = ProcStats.cpuSeconds(self);
    long t0 = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    long measured = done.get() - before;
    double elapsed = (System.nanoTime() - t0) / 1e9;
    double cpu = ProcStats.cpuSeconds(self) - cpuBefore;
    long measuredErrors = errors.get() - errorsBefore;
    // the calls still in flight end before the next operation's loop starts
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (inProgress.get() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return new JsonObject().put("ops", measured).put("seconds", round(elapsed, 1000))
        .put("ops_per_second", round(measured / elapsed, 10)).put("errors", measuredErrors)
        .put("cpu_seconds", round(cpu, 100)).put("cpu_us_per_op", round(cpu * 1e6 / Math.max(1, measured), 10));
  }

  private static double round(double v, int scale) {
    return Math.round(v * scale) / (double) scale;
  }

  /**
   * Runs the raw loop in a process of its own on a fresh token under {@code dir}, one operation after another; each
   * operation's result line by its id, in the order given.
   */
  static Map<String, JsonObject> measure(Path jar, Path dir, List<Run> runs, int inFlight, int poolSize,
      boolean sessionCopies) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int seconds = runs.stream().mapToInt(r -> r.seconds() + 1).sum();
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", jar.toString(), RawPkcs11Bench.class.getName(), dir.toString(),
        Integer.toString(runs.get(0).seconds()), Integer.toString(inFlight), Integer.toString(poolSize), "32",
        Boolean.toString(sessionCopies), "1", String.join(",", runs.stream().map(Run::argument).toList()))
        .redirectErrorStream(true);
    pb.environment().put("SOFTHSM2_CONF", dir.resolve("softhsm2.conf").toString());
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(seconds + 120L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("the raw PKCS#11 measurement failed: " + output);
    }
    Map<String, JsonObject> results = new LinkedHashMap<>();
    for (String line : output.split("\n")) {
      if (line.startsWith("{")) {
        JsonObject r = new JsonObject(line);
        results.put(r.getString("mechanism"), r);
      }
    }
    for (Run r : runs) {
      if (!results.containsKey(r.mechanism().id())) {
        throw new IOException("the raw PKCS#11 measurement printed no result for " + r.mechanism().id() + ": "
            + output);
      }
    }
    return results;
  }
}
