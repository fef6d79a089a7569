package io.kmsgw.audit;

import io.kmsgw.domain.Caller;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Run in a child JVM by AuditCrashTest: eight threads append events as fast as the log acknowledges them and print
 * {@code ACK <requestID>} once an event's future has completed, until the parent kills the process (SIGKILL).
 */
public final class AuditCrashChild {
  public static void main(String[] args) throws Exception {
    AuditLog.Settings s = new AuditLog.Settings(Path.of(args[0]), 64L << 20, 0, 200, Duration.ofSeconds(1),
        "111122223333", "us-east-1");
    AuditLog log = AuditLog.open(s, Clock.systemUTC(), new SoftwareSigner(), List.of());
    Caller caller = AuditTesting.USER;
    for (int t = 0; t < 8; t++) {
      int thread = t;
      Thread worker = new Thread(() -> {
        for (int i = 0; ; i++) {
          String id = "crash-" + thread + "-" + i;
          log.append(AuditEvent.apiCall("Encrypt").time(Instant.now()).caller(caller).requestId(id).build()).join();
          synchronized (System.out) {
            System.out.println("ACK " + id);
            System.out.flush();
          }
        }
      });
      worker.start();
    }
    Thread.sleep(120_000);
  }
}
