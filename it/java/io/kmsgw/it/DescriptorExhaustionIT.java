package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The gateway runs out of file descriptors (issue #15, run 1): its connection cap set above its descriptor limit,
 * idle connections take every descriptor, an HSM call fails and the PKCS#11 library cannot be initialised again;
 * once the connections close, Encrypt works again within seconds (it stayed FAILED for minutes before).
 */
class DescriptorExhaustionIT {
  private static final long RECOVERY_BOUND_MS = 10_000;

  private static int openDescriptors(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return (int) fds.count();
    }
  }

  /** Sets the process's soft limit on open files (its hard limit stays), as {@code ulimit -n} would have. */
  private static void limitDescriptors(long pid, long soft) throws Exception {
    Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + soft + ":")
        .inheritIO().start();
    assertEquals(0, p.waitFor(), "prlimit");
  }

  /** The process's soft limit on open files, from /proc/PID/limits. */
  private static long descriptorLimit(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits")).stream()
        .filter(l -> l.startsWith("Max open files"))
        .map(l -> Long.parseLong(l.substring("Max open files".length()).trim().split("\\s+")[0]))
        .findFirst().orElseThrow();
  }

  /** Connection attempts that failed after the store was first connected, from the gateway's log. */
  private static long failedRetries(GatewayProcess gateway) {
    return gateway.logText().lines().filter(l -> l.contains("key store default: CONNECTING -> FAILED")).count();
  }

  private static String encryptBody(String keyId) {
    return "{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\"aGVsbG8=\"}";
  }

  @Test
  void descriptorsRunOut_anHsmCallFails_andEncryptWorksWithinSecondsOfTheirReturn() throws Exception {
    GatewayProcess gateway = GatewayProcess.start("fd-exhaustion", Map.of(
        // above the descriptor limit set below: descriptors run out, not the cap
        "KMSGW_HTTP_MAX_CONNECTIONS", "100000",
        // the idle connections stay until the test closes them
        "KMSGW_HTTP_REQUEST_TIMEOUT_MS", "300000",
        "KMSGW_HTTP_IDLE_TIMEOUT_MS", "300000"));
    List<Socket> idle = new ArrayList<>();
    long pid = gateway.pid();
    long originalLimit = descriptorLimit(pid);
    String host = "127.0.0.1:" + gateway.port();
    try (KmsClient kms = gateway.client(); SocketHttp early = new SocketHttp(gateway.port())) {
      String keyId = kms.createKey(r -> r.description("before the descriptors ran out")).keyMetadata().keyId();
      assertEquals(200, early.kms(host, "Encrypt", encryptBody(keyId)).status(), "a connection opened before");

      int limit = openDescriptors(pid) + 150;
      limitDescriptors(pid, limit);
      // more connections than descriptors left: the surplus waits in the listen backlog
      for (int i = 0; i < 300; i++) {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
        idle.add(s);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (openDescriptors(pid) < limit - 2 && System.nanoTime() < deadline) {
        GatewayProcess.sleep(50); // accepting is asynchronous: wait for the gateway to take them
      }
      assertTrue(openDescriptors(pid) >= limit - 2, "the gateway is out of descriptors: " + openDescriptors(pid)
          + " of " + limit);

      // a new token object needs a new file: C_GenerateKey fails, and so does re-initialising the library
      SocketHttp.Response failed = early.kms(host, "CreateKey", "{}");
      assertNotEquals(200, failed.status(), "an HSM call fails without descriptors: " + failed.body());
      SocketHttp.Response health = early.get("/healthz");
      assertEquals(503, health.status(), "the key store is no longer connected: " + health.body());

      // the descriptors stay taken over several retries: a backoff that kept doubling (1, 2, 4, 8 s ...) would
      // now wait longer than the recovery bound below
      long heldSince = System.nanoTime();
      while (failedRetries(gateway) < 4 && System.nanoTime() - heldSince < TimeUnit.SECONDS.toNanos(60)) {
        GatewayProcess.sleep(100); // waiting for the gateway's retries to fail, as its log shows
      }
      assertTrue(failedRetries(gateway) >= 4, "the retries fail while the descriptors are taken");

      for (Socket s : idle) {
        s.close();
      }
      idle.clear();
      long released = System.nanoTime();
      while (openDescriptors(pid) > limit - 100 && System.nanoTime() - released < TimeUnit.SECONDS.toNanos(30)) {
        GatewayProcess.sleep(20); // the gateway closes its ends as it reads the clients' FINs
      }
      long freedAt = System.nanoTime();

      int status = 0;
      String body = "";
      while (status != 200 && System.nanoTime() - freedAt < TimeUnit.MILLISECONDS.toNanos(RECOVERY_BOUND_MS)) {
        SocketHttp.Response r = early.kms(host, "Encrypt", encryptBody(keyId));
        status = r.status();
        body = r.body();
        if (status != 200) {
          GatewayProcess.sleep(100); // polling for the recovery, not waiting for time to pass
        }
      }
      long recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt);
      assertEquals(200, status, "Encrypt works again within " + RECOVERY_BOUND_MS + " ms of the descriptors' "
          + "return: " + body + "\n" + gateway.logText().lines().filter(l -> l.contains("key store"))
          .reduce("", (a, b) -> a + "\n" + b));
      assertTrue(recoveredMs < RECOVERY_BOUND_MS, recoveredMs + " ms");
      assertEquals(200, early.get("/healthz").status(), "and the key store is CONNECTED");
      kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("on a new connection too")));
    } finally {
      for (Socket s : idle) {
        s.close();
      }
      limitDescriptors(pid, originalLimit);
      gateway.stop();
    }
  }
}
