package io.kmsgw.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Run in a child JVM with a small heap by LargeAuditFileTest: opens the trail in {@code args[0]} as the gateway does
 * (recovery continues the newest file), records one event, closes it (a digest signed by a key of its own), and
 * prints that key's fingerprint as {@code KEY <fingerprint>}.
 */
public final class LargeAuditFileChild {
  public static void main(String[] args) throws Exception {
    SoftwareSigner signer = new SoftwareSigner();
    AuditLog.Settings s = new AuditLog.Settings(Path.of(args[0]), 64L << 20, 0, 1000, Duration.ofSeconds(60),
        "111122223333", "us-east-1");
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      log.append(AuditTesting.event(-1)).join();
    }
    System.out.println("KEY " + signer.fingerprint());
  }
}
