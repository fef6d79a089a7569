package io.kmsgw.audit;

import static io.kmsgw.audit.AuditTesting.event;
import static io.kmsgw.audit.AuditTesting.settings;
import static io.kmsgw.audit.AuditTesting.verify;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The file being written is extended with zeros ahead of the writer; readers, rotation and recovery cope. */
class AuditPreallocationTest {
  private final SoftwareSigner signer = new SoftwareSigner();

  @Test
  void theLiveFileEndsInZeros_readersStopAtThem_andCloseCutsThemOff() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc");
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 20; i++) {
        log.append(event(i)).join();
      }
      log.digestNow().join();
      Path file = AuditTesting.only(dir);
      byte[] bytes = waitForZeroTail(file);
      int zero = AuditFiles.firstZero(bytes);
      assertEquals(zero, AuditFiles.endOfNonZero(bytes, zero), "nothing but zeros after the written lines");
      assertEquals('\n', bytes[zero - 1]);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        assertEquals(zero, AuditFiles.dataEnd(ch), "the binary search finds the end of the written lines");
      }
      // the verifier and the lookup's reader see the lines and nothing of the tail
      AuditVerifier.Report live = verify(dir);
      assertEquals(0, live.exitCode(), live.problems() + " " + live.notCovered());
      assertEquals(22, live.records(), "the header, 20 events and a digest");
      List<String> backwards = new ArrayList<>();
      try (ReverseLines r = new ReverseLines(file, -1)) {
        for (ReverseLines.Line l = r.next(); l != null; l = r.next()) {
          backwards.add(l.text());
        }
      }
      assertEquals(22, backwards.size());
      assertTrue(backwards.get(0).contains("\"digest\":{"), backwards.get(0));
    }
    Path file = AuditTesting.only(dir);
    byte[] closed = Files.readAllBytes(file);
    assertEquals(closed.length, AuditFiles.firstZero(closed), "no zero byte left after close");
    assertEquals('\n', closed[closed.length - 1]);
    assertEquals(0, verify(dir).exitCode());
  }

  @Test
  void aCrashLeavesBytesAmongTheZeros_theNextStartCutsThemOffAndRecordsIt() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc-torn");
    Path file;
    byte[] image;
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), DigestSigner.NONE, List.of())) {
      for (int i = 0; i < 5; i++) {
        log.append(event(i)).join();
      }
      file = AuditTesting.only(dir);
      // the file as a kill -9 leaves it: complete lines, then the pre-allocated zeros
      image = waitForZeroTail(file);
    }
    int end = AuditFiles.firstZero(image);
    // an unacknowledged write of which only a later page reached the disk: zeros, then part of a line, then zeros
    byte[] stray = "\"prev\":\"00ab\"},\"event\":{\"eventName\":\"Decrypt\"".getBytes(StandardCharsets.UTF_8);
    System.arraycopy(stray, 0, image, end + 4096, stray.length);
    Files.write(file, image);
    AuditVerifier.Report before = verify(dir);
    assertEquals(1, before.exitCode());
    assertTrue(before.firstProblem().message().startsWith("file truncated inside line 7"),
        before.firstProblem().toString());

    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      log.append(event(9)).join();
    }
    List<String> lines = AuditTesting.lines(file);
    JsonObject repair = new JsonObject(lines.get(6)).getJsonObject("event");
    assertEquals("KmsgwAuditLogRepaired", repair.getString("eventName"));
    JsonObject details = repair.getJsonObject("serviceEventDetails");
    assertEquals(end, details.getInteger("offset"));
    assertEquals(4096 + stray.length, details.getInteger("removedBytes"), "from the end of the last line to the "
        + "last byte written");
    assertEquals(7L, AuditRecords.quickSeq(lines.get(6)));
    byte[] after = Files.readAllBytes(file);
    assertEquals(after.length, AuditFiles.firstZero(after));
    AuditVerifier.Report r = verify(dir);
    assertEquals(0, r.exitCode(), r.problems().toString());
  }

  @Test
  void aCrashWithOnlyZerosAfterTheLines_continuesWithoutARepair() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc-clean");
    Path file;
    byte[] image;
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), DigestSigner.NONE, List.of())) {
      for (int i = 0; i < 3; i++) {
        log.append(event(i)).join();
      }
      file = AuditTesting.only(dir);
      image = waitForZeroTail(file);
    }
    Files.write(file, image);
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      log.append(event(9)).join();
    }
    List<String> lines = AuditTesting.lines(file);
    assertEquals(6, lines.size(), "header, 3 events, the new one and the digest at close: " + lines);
    assertTrue(lines.stream().noneMatch(l -> l.contains("KmsgwAuditLogRepaired")));
    assertEquals(0, verify(dir).exitCode());
  }

  @Test
  void rotatedFilesLoseTheirZeroTail_andTheChainVerifies() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc-rotate");
    AuditLog.Settings s = new AuditLog.Settings(dir, 8192, 0, 1000, Duration.ofHours(1), "111122223333",
        "us-east-1", 64 << 10);
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 60; i++) {
        log.append(event(i)).join();
      }
    }
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    assertTrue(files.size() >= 4, files.toString());
    for (AuditFiles.Entry f : files) {
      byte[] b = Files.readAllBytes(f.path());
      assertEquals(b.length, AuditFiles.firstZero(b), f.name() + " keeps no zero tail");
    }
    assertEquals(0, verify(dir).exitCode());
  }

  @Test
  void withoutPreallocation_theFileIsOnlyEverItsLines() throws Exception {
    Path dir = TestToken.scratch("audit-no-prealloc");
    AuditLog.Settings s = new AuditLog.Settings(dir, 64L << 20, 0, 1000, Duration.ofHours(1), "111122223333",
        "us-east-1", 0);
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      log.append(event(1)).join();
      byte[] b = Files.readAllBytes(AuditTesting.only(dir));
      assertEquals('\n', b[b.length - 1]);
      assertEquals(b.length, AuditFiles.firstZero(b));
    }
    assertEquals(0, verify(dir).exitCode());
  }

  /** The file once its first extension has landed (it runs on its own thread). */
  private static byte[] waitForZeroTail(Path file) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      byte[] b = Files.readAllBytes(file);
      if (b.length > 0 && b[b.length - 1] == 0) {
        return b;
      }
      assertTrue(System.nanoTime() < deadline, "the file was never extended: " + b.length + " bytes");
      Thread.sleep(5);
    }
  }
}
