package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Slow and idle clients against the real gateway process (issue #15): connections that send nothing, that dribble
 * a request's headers a byte at a time, or that sit idle after a request are closed on time, while an AWS SDK
 * client keeps being answered; connections over {@code http.max_connections} are answered 503 and closed at once;
 * {@code http.hostnames} refuses a request signed for another host. Also: the launcher's JVM options.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConnectionLimitsIT {
  private static final int REQUEST_TIMEOUT_MS = 2000;
  private static final int IDLE_TIMEOUT_MS = 5000;
  private static final int CAP = 40;
  private static GatewayProcess limits;
  private static GatewayProcess capped;

  @BeforeAll
  static void start() {
    limits = GatewayProcess.start("conn-limits", Map.of(
        "KMSGW_HTTP_REQUEST_TIMEOUT_MS", Integer.toString(REQUEST_TIMEOUT_MS),
        "KMSGW_HTTP_IDLE_TIMEOUT_MS", Integer.toString(IDLE_TIMEOUT_MS)));
    capped = GatewayProcess.start("conn-cap", Map.of(
        "KMSGW_HTTP_MAX_CONNECTIONS", Integer.toString(CAP),
        "KMSGW_HTTP_HOSTNAMES", "127.0.0.1, kms.example.com"));
  }

  @AfterAll
  static void stop() {
    if (limits != null) {
      limits.stop();
    }
    if (capped != null) {
      capped.stop();
    }
  }

  /** One raw connection and when it was opened, last answered and seen closed (System.nanoTime, 0 when not yet). */
  private static final class Conn {
    final SocketChannel channel;
    final long opened = System.nanoTime();
    long answered;
    long closed;

    Conn(int port) throws IOException {
      channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
      channel.configureBlocking(false);
    }

    void send(String text) {
      try {
        channel.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)));
      } catch (IOException e) {
        seenClosed();
      }
    }

    /** Reads what has arrived; notes an answer, and the end of the connection. */
    void poll(ByteBuffer buffer) {
      if (closed != 0) {
        return;
      }
      try {
        buffer.clear();
        int n = channel.read(buffer);
        if (n < 0) {
          seenClosed();
        } else if (n > 0 && answered == 0) {
          answered = System.nanoTime();
        }
      } catch (IOException e) {
        seenClosed();
      }
    }

    void seenClosed() {
      if (closed == 0) {
        closed = System.nanoTime();
      }
    }

    long closedAfterMs(long from) {
      return TimeUnit.NANOSECONDS.toMillis(closed - from);
    }
  }

  @Test
  @Order(1)
  void slowAndIdleConnections_areClosedOnTime_whileAnSdkClientIsServed() throws Exception {
    List<Conn> silent = new ArrayList<>();
    List<Conn> slow = new ArrayList<>();
    List<Conn> keptAlive = new ArrayList<>();
    ByteBuffer buffer = ByteBuffer.allocate(8192);
    try (KmsClient kms = limits.client()) {
      String keyId = kms.createKey(r -> r.description("served through a slowloris")).keyMetadata().keyId();
      for (int i = 0; i < 100; i++) {
        Conn c = new Conn(limits.port());
        c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        keptAlive.add(c);
      }
      // their answers first, so that the idle time is measured from when it began
      long answersDue = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (keptAlive.stream().anyMatch(c -> c.answered == 0 && c.closed == 0) && System.nanoTime() < answersDue) {
        keptAlive.forEach(c -> c.poll(buffer));
      }
      for (int i = 0; i < 300; i++) {
        Conn c = new Conn(limits.port());
        c.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.Encrypt\r\nX-Slow: ");
        slow.add(c);
      }
      for (int i = 0; i < 2000; i++) {
        silent.add(new Conn(limits.port()));
      }
      List<Conn> all = new ArrayList<>(keptAlive);
      all.addAll(slow);
      all.addAll(silent);

      // an SDK client keeps working while the slow ones dribble a byte every 250 ms (the idle timeout alone would
      // never close them) until every raw connection is closed or 30 s have passed
      long maxLatencyMs = 0;
      int served = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      long nextByte = 0;
      while (System.nanoTime() < deadline && all.stream().anyMatch(c -> c.closed == 0)) {
        if (System.nanoTime() >= nextByte) {
          slow.forEach(c -> {
            if (c.closed == 0) {
              c.send("x");
            }
          });
          nextByte = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250);
        }
        all.forEach(c -> c.poll(buffer));
        long t0 = System.nanoTime();
        kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("still answered")));
        maxLatencyMs = Math.max(maxLatencyMs, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        served++;
      }

      assertTrue(all.stream().allMatch(c -> c.closed != 0), "every raw connection was closed: "
          + all.stream().filter(c -> c.closed == 0).count() + " still open");
      assertTrue(served > 10, "the SDK client was served throughout: " + served + " calls");
      assertTrue(maxLatencyMs < 5000, "each call answered within 5 s (shared 2-core machine): " + maxLatencyMs);
      for (Conn c : silent) {
        assertTrue(c.closedAfterMs(c.opened) >= REQUEST_TIMEOUT_MS - 100,
            "a silent connection is given the request deadline: " + c.closedAfterMs(c.opened));
        assertTrue(c.closedAfterMs(c.opened) < REQUEST_TIMEOUT_MS + 15_000, "and closed after it: "
            + c.closedAfterMs(c.opened));
      }
      for (Conn c : slow) {
        assertTrue(c.closedAfterMs(c.opened) >= REQUEST_TIMEOUT_MS - 100,
            "dribbled headers are given the request deadline: " + c.closedAfterMs(c.opened));
        assertTrue(c.closedAfterMs(c.opened) < REQUEST_TIMEOUT_MS + 15_000,
            "and closed after it although bytes keep arriving: " + c.closedAfterMs(c.opened));
      }
      for (Conn c : keptAlive) {
        assertTrue(c.answered != 0, "the kept-alive connection was answered");
        // from its opening: the server's last traffic on it (its answer) came later
        assertTrue(c.closedAfterMs(c.opened) >= IDLE_TIMEOUT_MS - 100,
            "a connection idle after its request is kept for the idle timeout, not the request deadline: "
                + c.closedAfterMs(c.opened));
        assertTrue(c.closedAfterMs(c.answered) < IDLE_TIMEOUT_MS + 15_000, "then closed: "
            + c.closedAfterMs(c.answered));
      }
    } finally {
      for (List<Conn> list : List.of(silent, slow, keptAlive)) {
        for (Conn c : list) {
          c.channel.close();
        }
      }
    }
    assertTrue(limits.logText().contains("http.request_timeout_ms"), "the closed slow connections are logged");
  }

  @Test
  @Order(2)
  void hostnames_refuseARequestSignedForAnotherHost_andAcceptTheirOwn() throws Exception {
    try (SocketHttp http = new SocketHttp(capped.port())) {
      SocketHttp.Response other = http.kms("kms.other.example:" + capped.port(), "ListKeys", "{}");
      assertEquals(400, other.status(), other.body());
      assertTrue(other.body().contains("InvalidSignatureException"), other.body());
      assertTrue(other.body().contains("kms.other.example"), other.body());
    }
    try (SocketHttp http = new SocketHttp(capped.port())) {
      SocketHttp.Response named = http.kms("kms.example.com", "ListKeys", "{}");
      assertEquals(200, named.status(), "a configured name matches any port: " + named.body());
    }
    try (KmsClient kms = capped.client()) {
      assertTrue(kms.listKeys().keys() != null, "the SDK signs for 127.0.0.1:port, a configured name");
    }
    try (SocketHttp http = new SocketHttp(limits.port())) {
      SocketHttp.Response other = http.kms("kms.other.example:" + limits.port(), "ListKeys", "{}");
      assertEquals(200, other.status(), "without http.hostnames any signed Host is accepted: " + other.body());
    }
  }

  /** Connects; a connection over the cap is answered at once, before it sends anything. */
  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return s;
  }

  /** The first bytes the gateway sends unasked within {@code waitMs}, or null. */
  private static String unsolicited(Socket s, int waitMs) throws IOException {
    s.setSoTimeout(waitMs);
    byte[] b = new byte[512];
    try {
      int n = s.getInputStream().read(b);
      return n < 0 ? "" : new String(b, 0, n, StandardCharsets.ISO_8859_1);
    } catch (SocketTimeoutException e) {
      return null;
    }
  }

  private static String healthOver(Socket s) throws IOException {
    s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    s.setSoTimeout(10_000);
    InputStream in = s.getInputStream();
    byte[] b = new byte[64];
    int n = in.read(b);
    return n < 0 ? "" : new String(b, 0, n, StandardCharsets.ISO_8859_1);
  }

  @Test
  @Order(3)
  void connectionsOverTheCap_areAnswered503AndClosedAtOnce_andTheSlotIsFreedOnClose() throws Exception {
    List<Socket> held = new ArrayList<>();
    try {
      String refusal = null;
      long refusedInMs = -1;
      int accepted = 0;
      while (refusal == null && held.size() < CAP + 5) {
        long t0 = System.nanoTime();
        Socket s = connect(capped.port());
        held.add(s);
        String early = unsolicited(s, 300);
        if (early != null) {
          refusal = early;
          refusedInMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        } else {
          assertTrue(healthOver(s).startsWith("HTTP/1.1 200"), "under the cap a connection is served");
          accepted++;
        }
      }
      assertTrue(refusal != null, "a connection over the cap is refused");
      // the health checks that waited for the gateway to start may still hold a connection or two
      assertTrue(accepted >= CAP - 5 && accepted <= CAP, "refused at the cap: " + accepted + " accepted");
      assertTrue(refusal.startsWith("HTTP/1.1 503"), refusal);
      assertTrue(refusal.contains("ServiceUnavailableException"), refusal);
      assertTrue(refusedInMs < 2000, "refused at once, not after a deadline: " + refusedInMs + " ms");
      assertEquals("", unsolicited(held.get(held.size() - 1), 2000), "and closed");

      // closing one held connection frees its slot
      held.remove(0).close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      boolean servedAgain = false;
      while (!servedAgain && System.nanoTime() < deadline) {
        Socket s = connect(capped.port());
        held.add(s);
        servedAgain = unsolicited(s, 300) == null && healthOver(s).startsWith("HTTP/1.1 200");
      }
      assertTrue(servedAgain, "a slot freed by a closed connection is used again");
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  /** TLS to the XKS listener's development certificate, trusted as it is (the test checks limits, not names). */
  private static javax.net.ssl.SSLSocket tls(int port) throws Exception {
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

      @Override
      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return new java.security.cert.X509Certificate[0];
      }
    }}, null);
    javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.startHandshake();
    return s;
  }

  @Test
  @Order(4)
  void theXksListenerOfItsOwn_hasTheSameDeadlineAndCap() throws Exception {
    int xksPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      xksPort = s.getLocalPort();
    }
    int xksCap = 5;
    GatewayProcess xks = GatewayProcess.start("conn-xks", Map.of(
        "KMSGW_XKS_LISTENER_PORT", Integer.toString(xksPort),
        "KMSGW_HTTP_REQUEST_TIMEOUT_MS", Integer.toString(REQUEST_TIMEOUT_MS),
        "KMSGW_HTTP_MAX_CONNECTIONS", Integer.toString(xksCap)));
    List<Socket> held = new ArrayList<>();
    try {
      // the XKS listener starts after the main one, which the start waited for
      long listening = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      boolean up = false;
      while (!up && System.nanoTime() < listening) {
        try (Socket probe = connect(xksPort)) {
          up = true;
        } catch (IOException notYet) {
          GatewayProcess.sleep(100);
        }
      }
      assertTrue(up, "the XKS listener is up");
      // no TLS handshake at all: closed at the request deadline (the handshake's deadline too)
      try (Socket silent = connect(xksPort)) {
        long t0 = System.nanoTime();
        assertEquals("", unsolicited(silent, 20_000), "a silent connection is closed");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= REQUEST_TIMEOUT_MS - 300 && ms < REQUEST_TIMEOUT_MS + 15_000, ms + " ms");
      }
      // connections served a request each (else the request deadline would close them and free their slots), up
      // to the cap: the next is answered 503 over TLS at once
      String refusal = null;
      while (refusal == null && held.size() <= xksCap + 2) {
        Socket s = tls(xksPort);
        held.add(s);
        refusal = unsolicited(s, 500);
        if (refusal == null) {
          assertTrue(healthOver(s).startsWith("HTTP/1.1 200"), "under the cap a connection is served");
        }
      }
      assertTrue(refusal != null && refusal.startsWith("HTTP/1.1 503"), "refused over TLS: " + refusal);
      assertTrue(held.size() >= xksCap && held.size() <= xksCap + 1, held.size() + " connections");
    } finally {
      for (Socket s : held) {
        s.close();
      }
      xks.stop();
    }
  }

  @Test
  @Order(5)
  void theLauncher_givesTheJvmAShareOfRam_andExitOnOutOfMemoryError() throws Exception {
    String cmdline = Files.readString(Path.of("/proc", Long.toString(limits.pid()), "cmdline"))
        .replace('\0', ' ');
    assertTrue(cmdline.contains("-XX:+ExitOnOutOfMemoryError"), cmdline);
    assertTrue(cmdline.contains("-XX:MaxRAMPercentage=25") || cmdline.contains("-Xmx256m")
        || cmdline.contains("-XX:MaxRAMPercentage=50"), "a share of RAM, not a fixed 160 MiB: " + cmdline);
    assertTrue(!cmdline.contains("-Xmx160m"), cmdline);
  }
}
