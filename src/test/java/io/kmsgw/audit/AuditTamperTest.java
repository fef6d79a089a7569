package io.kmsgw.audit;

import static io.kmsgw.audit.AuditTesting.lines;
import static io.kmsgw.audit.AuditTesting.verify;
import static io.kmsgw.audit.AuditTesting.writeLines;
import static io.kmsgw.audit.AuditTesting.writeLog;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One test per kind of tampering: after it, {@code kmsgw audit verify} names the first bad record. The log: line 1 the
 * file header (seq 1), lines 2..21 events (seq 2..21), line 22 the digest written at close (seq 22).
 */
class AuditTamperTest {
  private final SoftwareSigner signer = new SoftwareSigner();

  private Path log(String name) throws Exception {
    Path dir = TestToken.scratch(name);
    writeLog(dir, signer, 20);
    return dir;
  }

  @Test
  void untouchedLog_verifiesCoveredAndValid() throws Exception {
    Path dir = log("audit-untouched");
    AuditVerifier.Report r = verify(dir);
    assertEquals(List.of(), r.problems());
    assertNull(r.notCovered());
    assertEquals(0, r.exitCode());
    assertEquals(22, r.records());
    assertEquals(List.of(signer.fingerprint()), List.copyOf(r.fingerprints()));
  }

  @Test
  void editOneByteOfAnEvent_namesThatEvent() throws Exception {
    Path dir = log("audit-edit");
    Path file = AuditTesting.only(dir);
    byte[] bytes = Files.readAllBytes(file);
    String text = new String(bytes, StandardCharsets.UTF_8);
    // one byte of the event of seq 10: its request id req-8 becomes req-9
    int at = text.indexOf("\"requestID\":\"req-8\"") + "\"requestID\":\"req-".length();
    bytes[at] = '9';
    Files.write(file, bytes);

    AuditVerifier.Problem p = verify(dir).firstProblem();
    assertNotNull(p);
    assertEquals(10, p.where().line());
    assertEquals(10L, p.where().seq());
    assertTrue(p.message().startsWith("event seq 10 edited: its hash does not match"), p.message());
    assertEquals(1, verify(dir).exitCode());
  }

  @Test
  void deleteAnEvent_namesTheMissingSeq() throws Exception {
    Path dir = log("audit-delete");
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    lines.remove(9);
    writeLines(file, lines);

    AuditVerifier.Report r = verify(dir);
    AuditVerifier.Problem p = r.firstProblem();
    assertEquals(10, p.where().line());
    assertEquals(11L, p.where().seq());
    assertTrue(p.message().startsWith("seq 10 missing after seq 9"), p.message());
    assertTrue(p.message().contains("deleted"), p.message());
    assertEquals(1, r.problems().size(), "one deletion, one problem: " + r.problems());
  }

  @Test
  void swapTwoEvents_namesTheReorder() throws Exception {
    Path dir = log("audit-swap");
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    String a = lines.get(9);
    lines.set(9, lines.get(10));
    lines.set(10, a);
    writeLines(file, lines);

    AuditVerifier.Report r = verify(dir);
    AuditVerifier.Problem p = r.firstProblem();
    assertEquals(10, p.where().line());
    assertEquals(11L, p.where().seq());
    assertTrue(p.message().contains("seq 11 comes before seq 10 (line 11)"), p.message());
    assertTrue(p.message().contains("out of order"), p.message());
    assertEquals(1, r.problems().size(), "one swap, one problem: " + r.problems());
  }

  @Test
  void truncateTheFile_namesTheCutLine() throws Exception {
    Path dir = log("audit-truncate");
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    long cut = 0;
    for (int i = 0; i < 14; i++) {
      cut += lines.get(i).getBytes(StandardCharsets.UTF_8).length + 1;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(cut + 30);
    }

    AuditVerifier.Report r = verify(dir);
    AuditVerifier.Problem p = r.firstProblem();
    assertEquals(15, p.where().line());
    assertTrue(p.message().startsWith("file truncated inside line 15"), p.message());
    assertEquals(1, r.exitCode());
  }

  @Test
  void replaceADigestSignature_namesTheDigest() throws Exception {
    Path dir = log("audit-signature");
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    String digest = lines.get(21);
    int mark = digest.lastIndexOf(AuditRecords.SIGNATURE_MARK) + AuditRecords.SIGNATURE_MARK.length();
    // a well-formed signature by the right key, over another message
    String other = Base64.getEncoder().encodeToString(signer.sign("another message".getBytes(StandardCharsets.UTF_8)));
    lines.set(21, digest.substring(0, mark) + other + "\"}");
    writeLines(file, lines);

    AuditVerifier.Report r = verify(dir);
    AuditVerifier.Problem p = r.firstProblem();
    assertEquals(22, p.where().line());
    assertEquals(22L, p.where().seq());
    assertTrue(p.message().startsWith("digest at line 22: signature does not verify"), p.message());
    assertNotNull(r.notCovered(), "nothing is covered by a forged digest");
  }

  @Test
  void forgeADigestWithAnotherKey_namesTheDigest() throws Exception {
    Path dir = TestToken.scratch("audit-forged-key");
    try (AuditLog log = AuditLog.open(AuditTesting.settings(dir), Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 5; i++) {
        log.append(AuditTesting.event(i)).join();
      }
      log.digestNow().join();
      for (int i = 5; i < 10; i++) {
        log.append(AuditTesting.event(i)).join();
      }
    }
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    int last = lines.size() - 1;
    // the attacker edits an event and re-signs the last digest with a key of their own, carrying its public key
    lines.set(8, lines.get(8).replace("req-6", "req-X"));
    SoftwareSigner attacker = new SoftwareSigner();
    AuditRecords.Parsed p = AuditRecords.parse(lines.get(last));
    JsonObject d = p.json().getJsonObject("digest")
        .put("publicKey", Base64.getEncoder().encodeToString(attacker.publicKey()))
        .put("publicKeyFingerprint", attacker.fingerprint());
    String body = AuditRecords.digestBody(p.seq(), p.prev(), d);
    lines.set(last, AuditRecords.digestLine(body,
        Base64.getEncoder().encodeToString(attacker.sign(body.getBytes(StandardCharsets.UTF_8)))));
    writeLines(file, lines);

    AuditVerifier.Report r = verify(dir);
    assertTrue(r.problems().stream().anyMatch(x -> x.where().line() == last + 1
        && x.message().contains("not by the key of the earlier digests")), r.problems().toString());
    assertEquals(9, r.firstProblem().where().line(), "the edited event comes first: " + r.problems());
    // pinned to the gateway's key, the forged digest is refused on its own
    AuditVerifier.Report pinned = AuditVerifier.verify(dir, java.util.Set.of(signer.fingerprint()));
    assertTrue(pinned.problems().stream().anyMatch(x -> x.message().contains("not among the trusted keys")));
  }

  @Test
  void dropTheLastDigest_reportsTheEventsAsNotCovered() throws Exception {
    Path dir = log("audit-drop-digest");
    Path file = AuditTesting.only(dir);
    List<String> lines = lines(file);
    lines.remove(21);
    writeLines(file, lines);

    AuditVerifier.Report r = verify(dir);
    assertEquals(List.of(), r.problems());
    assertEquals(2, r.exitCode());
    assertTrue(r.notCovered().startsWith("seq 1..21 (21 records"), r.notCovered());
  }
}
