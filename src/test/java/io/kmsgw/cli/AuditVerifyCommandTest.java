package io.kmsgw.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.DigestSigner;
import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.testing.TestToken;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class AuditVerifyCommandTest {
  @Test
  void verify_exitsZeroWhenValid_andOneNamingTheFirstBadRecord() throws Exception {
    Path dir = TestToken.scratch("audit-cli");
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair pair = g.generateKeyPair();
    DigestSigner signer = new DigestSigner() {
      @Override
      public byte[] publicKey() {
        return pair.getPublic().getEncoded();
      }

      @Override
      public byte[] sign(byte[] message) throws Exception {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(pair.getPrivate());
        s.update(message);
        return s.sign();
      }
    };
    try (AuditLog log = AuditLog.open(new AuditLog.Settings(dir, 1 << 20, 0, 1000, Duration.ofMinutes(1),
        "111122223333", "us-east-1"), Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 5; i++) {
        log.append(AuditEvent.apiCall("ListKeys").time(Instant.now()).requestId("r" + i).build()).join();
      }
    }
    String[] ok = run("audit", "verify", dir.toString());
    assertEquals("0", ok[0], ok[1]);
    assertTrue(ok[1].contains("VALID: 7 records, 1 digests"), ok[1]);

    Path file;
    try (var s = Files.list(dir)) {
      file = s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).findFirst().orElseThrow();
    }
    Files.writeString(file, Files.readString(file).replace("\"r2\"", "\"r7\""));
    String[] bad = run("audit", "verify", dir.toString());
    assertEquals("1", bad[0], bad[1]);
    assertTrue(bad[1].contains("FIRST BAD RECORD: " + file.getFileName() + " line 4 (seq 4): event seq 4 edited"),
        bad[1]);
  }

  @Test
  void auditSettings_defaultUnderTheDataDirectory_andOverridableByEnvironment() {
    GatewayConfig.Audit a = ConfigLoader.load(null, Map.of("KMSGW_DATA_DIR", "/var/lib/kmsgw")).audit();
    assertEquals(Path.of("/var/lib/kmsgw/audit"), a.dir());
    assertEquals(64, a.maxFileMb());
    assertEquals(1000, a.digestEveryEvents());
    assertEquals(60, a.digestEverySeconds());
    GatewayConfig.Audit b = ConfigLoader.load(null, Map.of("KMSGW_AUDIT_DIR", "/audit", "KMSGW_AUDIT_RETENTION_DAYS",
        "90", "KMSGW_AUDIT_STDOUT", "true", "KMSGW_AUDIT_HTTP_SINK_URL", "https://siem.example/ingest")).audit();
    assertEquals(Path.of("/audit"), b.dir());
    assertEquals(90, b.retentionDays());
    assertTrue(b.stdout());
    assertEquals("siem.example", b.httpSinkUrl().getHost());
  }

  private static String[] run(String... args) {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    int code;
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      code = new CommandLine(new Main()).execute(args);
    } finally {
      System.setOut(saved);
    }
    return new String[] {Integer.toString(code), buf.toString(StandardCharsets.UTF_8)};
  }
}
