package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Bounded memory (issue #15 item 2): a gateway whose live audit file has grown to 1 GiB (the HSM was away, so no
 * digest let it rotate; or simply a busy day) starts again, and {@code kmsgw audit verify} checks the trail, both
 * in a JVM with a 128 MiB heap. Before the fix both read the whole file into memory and died with OutOfMemoryError.
 */
class LargeAuditFileTest {
  private static final long TARGET = 1L << 30;
  private static final String HEAP = "-Xmx128m";

  @Test
  void aOneGibFile_isRecoveredAndVerified_inA128MibHeap() throws Exception {
    Path dir = TestToken.scratch("audit-large");
    try {
      SoftwareSigner signer = new SoftwareSigner();
      long lines = writeValidFile(dir, signer);
      Path file = AuditFiles.list(dir).get(0).path();
      assertTrue(Files.size(file) >= TARGET, "the file is " + Files.size(file) + " bytes");

      Run open = run(List.of(LargeAuditFileChild.class.getName(), dir.toString()));
      assertEquals(0, open.code(), "recovery in a " + HEAP + " JVM:\n" + open.output());
      String childKey = open.output().lines().filter(l -> l.startsWith("KEY ")).findFirst().orElseThrow()
          .substring(4);
      // the restart continued the 1 GiB file and, as it is over audit.max_file_mb and ends with a digest, rotated
      assertEquals(2, AuditFiles.list(dir).size(), AuditFiles.list(dir).toString());

      Run verify = run(List.of("io.kmsgw.cli.Main", "audit", "verify", dir.toString(),
          "--trust", signer.fingerprint(), "--trust", childKey));
      assertEquals(0, verify.code(), "kmsgw audit verify in a " + HEAP + " JVM:\n" + verify.output());
      // the generated lines, the restart's event and the file it started (header, and a digest at close)
      assertTrue(verify.output().contains("VALID: " + (lines + 3) + " records"), verify.output());
    } finally {
      delete(dir);
    }
  }

  /**
   * A valid file of at least 1 GiB, written straight (the chain and the digest computed as the writer does): a
   * header, Encrypt events with a 4 KiB encryption context, and a digest signed by {@code signer} covering them all.
   * Returns the number of lines.
   */
  private static long writeValidFile(Path dir, SoftwareSigner signer) throws Exception {
    String name = AuditFiles.name(LocalDate.now(ZoneOffset.UTC), 1);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    HexFormat hex = HexFormat.of();
    String prev = Hashes.GENESIS;
    long seq = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(name)), 1 << 20)) {
      JsonObject header = new JsonObject().put("name", name).put("created", Instant.now().toString())
          .putNull("previousFile").putNull("anchor");
      prev = writeLine(out, sha, hex, AuditRecords.fileLine(++seq, prev, header));
      String pad = "x".repeat(4096);
      long written = 0;
      while (written < TARGET) {
        String event = AuditEvent.apiCall("Encrypt").time(Instant.now()).caller(AuditTesting.USER)
            .region("us-east-1").sourceIp("127.0.0.1").userAgent("large-file-test").requestId("req-" + seq)
            .requestParameters(new JsonObject().put("KeyId", "alias/test")
                .put("EncryptionContext", new JsonObject().put("n", Long.toString(seq)).put("pad", pad)))
            .key("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
            .encode();
        String line = AuditRecords.eventLine(++seq, prev, event);
        prev = writeLine(out, sha, hex, line);
        written += line.length() + 1;
      }
      byte[] spki = signer.publicKey();
      JsonObject d = new JsonObject().put("firstSeq", 1L).put("lastSeq", seq).put("lastHash", prev)
          .putNull("previousDigestSeq").putNull("previousDigestHash").put("time", Instant.now().toString())
          .put("signatureAlgorithm", AuditRecords.SIGNATURE_ALGORITHM)
          .put("publicKey", Base64.getEncoder().encodeToString(spki))
          .put("publicKeyFingerprint", Hashes.sha256Hex(spki));
      String body = AuditRecords.digestBody(++seq, prev, d);
      writeLine(out, sha, hex, AuditRecords.digestLine(body,
          Base64.getEncoder().encodeToString(signer.sign(body.getBytes(StandardCharsets.UTF_8)))));
    }
    return seq;
  }

  private static String writeLine(OutputStream out, MessageDigest sha, HexFormat hex, String line)
      throws IOException {
    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
    out.write(bytes);
    out.write('\n');
    return hex.formatHex(sha.digest(bytes));
  }

  private record Run(int code, String output) {}

  private static Run run(List<String> mainAndArgs) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        HEAP, "-cp", System.getProperty("java.class.path")));
    cmd.addAll(mainAndArgs);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not end");
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
