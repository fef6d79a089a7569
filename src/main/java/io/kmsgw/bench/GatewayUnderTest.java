package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateway the benchmark measures: started as a user starts it ({@code ./kmsgw serve}, or {@code java -jar}
 * when the launcher is not next to the jar) on a fresh data directory and a free port, in a process of its own.
 */
final class GatewayUnderTest implements AutoCloseable {
  static final String ACCESS_KEY_ID = "AKIAKMSGWBENCHMARK00";
  static final String SECRET = "kmsgw-benchmark-secret-key-0000000000000";
  /** The development XKS endpoint's credential (kmsgw-dev). */
  static final String XKS_ACCESS_KEY_ID = "KMSGWBENCHMARKXKS234567";
  static final String XKS_SECRET = "a21zZ3ctYmVuY2htYXJrLXhrcy1zZWNyZXQtMDAwMDA=";
  static final String REGION = "us-east-1";

  private final Process process;
  private final URI endpoint;
  private final Path log;
  private long startupMillis;

  /** The JVM options of the measured gateway unless KMSGW_JAVA_OPTS is set. */
  static final String BENCH_JAVA_OPTS = "-Xms160m -Xmx160m -XX:MaxDirectMemorySize=64m -XX:+ExitOnOutOfMemoryError";

  private GatewayUnderTest(Process process, URI endpoint, Path log) {
    this.process = process;
    this.endpoint = endpoint;
    this.log = log;
  }

  static GatewayUnderTest start(Path jar, Path dataDir, Map<String, String> extraEnv)
      throws IOException, InterruptedException {
    Files.createDirectories(dataDir);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path launcher = jar.toAbsolutePath().getParent().getParent().resolve("kmsgw");
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(launcher)) {
      command.add(launcher.toString());
    } else {
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-jar");
      command.add(jar.toString());
    }
    command.add("serve");
    Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    Map<String, String> env = pb.environment();
    env.put("KMSGW_DATA_DIR", dataDir.toAbsolutePath().toString());
    env.put("KMSGW_HTTP_PORT", Integer.toString(port));
    env.put("KMSGW_ADMIN_ACCESS_KEY_ID", ACCESS_KEY_ID);
    env.put("KMSGW_ADMIN_SECRET_ACCESS_KEY", SECRET);
    env.put("KMSGW_DEV_XKS_ACCESS_KEY_ID", XKS_ACCESS_KEY_ID);
    env.put("KMSGW_DEV_XKS_SECRET_ACCESS_KEY", XKS_SECRET);
    env.put("SOFTHSM2_CONF", dataDir.toAbsolutePath().resolve("softhsm").resolve("softhsm2.conf").toString());
    // the spread scenario needs 10,000 keys and CreateKey makes more: above AWS's default quota of 1000
    env.put("KMSGW_LIMITS_KEYS_PER_ACCOUNT", "100000");
    // the heap of the earlier runs, so the peak RSS stays comparable between runs and machines: the launcher's own
    // default is a quarter of the machine's memory, which a JVM under load grows into (docs/performance.md)
    env.putIfAbsent("KMSGW_JAVA_OPTS", BENCH_JAVA_OPTS);
    env.putAll(extraEnv);
    long launched = System.nanoTime();
    GatewayUnderTest g = new GatewayUnderTest(pb.start(), URI.create("http://127.0.0.1:" + port), log);
    g.awaitConnected(Duration.ofSeconds(120));
    g.startupMillis = (System.nanoTime() - launched) / 1_000_000;
    return g;
  }

  private void awaitConnected(Duration timeout) throws IOException, InterruptedException {
    KmsHttp http = client();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("the gateway exited (" + process.exitValue() + "); see " + log);
      }
      try {
        if ("CONNECTED".equals(http.health().getString("state"))) {
          return;
        }
      } catch (IOException | RuntimeException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IOException("the gateway did not connect to its HSM in " + timeout + "; see " + log);
  }

  /**
   * Milliseconds from launching the process to its key store's first {@code CONNECTED} health answer (polled every
   * 100 ms): the JVM's start, the development token's creation and the first connection to it.
   */
  long startupMillis() {
    return startupMillis;
  }

  KmsHttp client() {
    return new KmsHttp(endpoint, ACCESS_KEY_ID, SECRET, REGION);
  }

  URI endpoint() {
    return endpoint;
  }

  /** The JVM's pid: the launcher execs java, so it is the launched process itself. */
  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
