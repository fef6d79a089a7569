package io.kmsgw.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The real gateway, started as a new user starts it: {@code ./kmsgw serve} from the project directory, on a fresh
 * data directory under {@code target/it/} and a free port. Stopped with SIGTERM, or killed with SIGKILL.
 */
public final class GatewayProcess implements AutoCloseable {
  public static final String ACCESS_KEY_ID = "AKIAKMSGWINTEGRATION";
  public static final String SECRET = "kmsgw/integration+test/secret/key/000000";
  public static final String REGION = "us-east-1";
  public static final String ACCOUNT = "111122223333";

  private static final Path PROJECT = Path.of(System.getProperty("kmsgw.project.dir", "."));
  private static final Path BUILD = Path.of(System.getProperty("kmsgw.build.dir", "target"));

  private final String name;
  private final Path dataDir;
  private final Path log;
  private final int port;
  private final Map<String, String> extraEnv;
  private Process process;

  private GatewayProcess(String name, Map<String, String> extraEnv) {
    this.name = name;
    this.dataDir = BUILD.resolve("it").resolve(name + "-" + UUID.randomUUID().toString().substring(0, 8))
        .toAbsolutePath();
    this.log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
    this.port = freePort();
    this.extraEnv = extraEnv;
  }

  private GatewayProcess(GatewayProcess same, Map<String, String> extraEnv) {
    this.name = same.name;
    this.dataDir = same.dataDir;
    this.log = same.log;
    this.port = same.port;
    this.extraEnv = extraEnv;
  }

  /**
   * Starts another gateway process on a stopped one's data directory and port, with extra environment (such as
   * the development clock offset), and waits until it is connected.
   */
  public static GatewayProcess restartWith(GatewayProcess stopped, Map<String, String> env) {
    return restartWith(stopped, env, List.of());
  }

  /** {@link #restartWith(GatewayProcess, Map)} with arguments after {@code serve} (such as {@code --config}). */
  public static GatewayProcess restartWith(GatewayProcess stopped, Map<String, String> env, List<String> serveArgs) {
    GatewayProcess g = new GatewayProcess(stopped, env);
    g.start(serveArgs, true);
    return g;
  }

  /** Starts a gateway on a fresh data directory and waits until its key store is connected. */
  public static GatewayProcess start(String name) {
    return start(name, Map.of());
  }

  public static GatewayProcess start(String name, Map<String, String> env) {
    GatewayProcess g = new GatewayProcess(name, env);
    g.start();
    return g;
  }

  /**
   * Starts with arguments after {@code serve} (such as {@code --config FILE}); {@code env} may use the data
   * directory, given before the process starts.
   */
  public static GatewayProcess start(String name, java.util.function.Function<Path, Map<String, String>> env,
      java.util.function.Function<Path, List<String>> serveArgs) {
    GatewayProcess probe = new GatewayProcess(name, Map.of());
    GatewayProcess g = new GatewayProcess(probe, env.apply(probe.dataDir));
    g.start(serveArgs.apply(probe.dataDir), true);
    return g;
  }

  /** Starts again on the same data directory and port with the same environment and arguments. */
  public void restart(List<String> serveArgs) {
    start(serveArgs, true);
  }

  /** Starts (again) on the same data directory and port, and waits until the key store is connected. */
  public void start() {
    start(List.of(), true);
  }

  /**
   * Starts with extra arguments after {@code serve} (such as {@code --config FILE}); waits until the health check
   * answers, and, if {@code requireConnected}, until it answers 200 (key store CONNECTED).
   */
  public void start(List<String> serveArgs, boolean requireConnected) {
    try {
      Files.createDirectories(dataDir.getParent());
      List<String> command = new java.util.ArrayList<>(List.of(PROJECT.resolve("kmsgw").toAbsolutePath().toString(),
          "serve"));
      command.addAll(serveArgs);
      ProcessBuilder pb = new ProcessBuilder(command)
          .directory(PROJECT.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      Map<String, String> env = pb.environment();
      env.remove("SOFTHSM2_CONF");
      env.put("KMSGW_DATA_DIR", dataDir.toString());
      env.put("KMSGW_HTTP_PORT", Integer.toString(port));
      env.put("KMSGW_ADMIN_ACCESS_KEY_ID", ACCESS_KEY_ID);
      env.put("KMSGW_ADMIN_SECRET_ACCESS_KEY", SECRET);
      env.putAll(extraEnv);
      process = pb.start();
      waitHealthy(Duration.ofSeconds(90), requireConnected);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void waitHealthy(Duration timeout, boolean requireConnected) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("the gateway exited with " + process.exitValue() + ":\n" + logText());
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(endpoint().resolve("/healthz"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 || (!requireConnected && r.statusCode() == 503)) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      sleep(100);
    }
    throw new IllegalStateException("the gateway did not become healthy in " + timeout + ":\n" + logText());
  }

  /** SIGTERM, and wait for the orderly shutdown. */
  public void stop() {
    if (process != null && process.isAlive()) {
      process.destroy();
      waitExit();
      verifyAudit();
    }
  }

  /**
   * After a graceful stop (which writes a final signed digest), the audit trail of every gateway an IT ran must
   * verify: no edited, missing, reordered or truncated record, every digest signature valid. A gateway whose HSM
   * never connected has no signing key and so leaves its events uncovered, which is not a failure.
   */
  public void verifyAudit() {
    Path dir = dataDir.resolve("audit");
    if (!Files.isDirectory(dir)) {
      return;
    }
    try {
      io.kmsgw.audit.AuditVerifier.Report r = io.kmsgw.audit.AuditVerifier.verify(dir, java.util.Set.of());
      if (r.exitCode() == 1) {
        throw new AssertionError("the audit trail of " + name + " does not verify: " + r.problems());
      }
    } catch (IOException e) {
      throw new AssertionError("the audit trail of " + name + " cannot be read: " + e, e);
    }
  }

  /** What an operator command printed, and its exit status. */
  public record Command(int exit, String out) {}

  /** {@code ./kmsgw ARGS --endpoint-url <this gateway>} with the administrator's credentials and this data directory. */
  public Command kmsgw(String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(Path.of(System.getProperty("kmsgw.project.dir", ".")).resolve("kmsgw").toAbsolutePath().toString());
    cmd.addAll(List.of(args));
    cmd.add("--endpoint-url");
    cmd.add(endpoint().toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
    pb.environment().put("AWS_SECRET_ACCESS_KEY", SECRET);
    pb.environment().put("AWS_DEFAULT_REGION", REGION);
    pb.environment().put("KMSGW_DATA_DIR", dataDir().toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("./kmsgw " + String.join(" ", args) + " did not finish in 120 s:\n" + out);
    }
    return new Command(p.exitValue(), out);
  }

  /** Sends the gateway process a signal ({@code HUP} to reload its configuration). */
  public void signal(String name) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException("kill -" + name + " failed");
    }
  }

  /** SIGKILL: no shutdown hooks, no flushing. */
  public void kill() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      waitExit();
    }
  }

  private void waitExit() {
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The gateway's process id (the launcher execs the JVM, so it is the JVM's). */
  public long pid() {
    return process.pid();
  }

  public int port() {
    return port;
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public Path dataDir() {
    return dataDir;
  }

  public String logText() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /**
   * An AWS SDK for Java v2 KMS client pointed at this gateway, with the SDK's standard retries
   * ({@link #clientWithoutRetries()} has none).
   */
  public KmsClient client() {
    return client(ACCESS_KEY_ID, SECRET);
  }

  /**
   * A client that does not retry, so that a test sees the gateway's first answer to each request; a request that
   * takes longer than 30 s fails in the client.
   */
  public KmsClient clientWithoutRetries() {
    return client(ACCESS_KEY_ID, SECRET, ClientOverrideConfiguration.builder()
        .retryStrategy(software.amazon.awssdk.awscore.retry.AwsRetryStrategy.doNotRetry())
        .apiCallTimeout(java.time.Duration.ofSeconds(30)).build());
  }

  public KmsClient client(String accessKeyId, String secret) {
    return client(accessKeyId, secret, ClientOverrideConfiguration.builder().retryStrategy(RetryMode.STANDARD).build());
  }

  private KmsClient client(String accessKeyId, String secret, ClientOverrideConfiguration overrides) {
    return KmsClient.builder()
        .endpointOverride(endpoint())
        .region(Region.of(REGION))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secret)))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(overrides)
        .build();
  }

  @Override
  public void close() {
    stop();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "gateway " + name + " at " + endpoint();
  }
}
