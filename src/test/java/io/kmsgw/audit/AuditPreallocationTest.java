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
import java.util.concurrent.TimeUnit;
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
      byte[] bytes = withZeroTail(log, file);
      int zero = AuditFiles.firstZero(bytes);
      AuditFiles.Extent extent = AuditFiles.extent(bytes);
      assertEquals(zero, extent.written(), "nothing but zeros after the written lines");
      assertEquals(zero, extent.lines(), "the last written byte ends a line");
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
    byte[] image = crashImage(dir, 5);
    Path file = AuditTesting.only(dir);
    int end = AuditFiles.firstZero(image);
    // an unacknowledged write of which only a later page reached the disk: zeros, then part of a line, then zeros
    byte[] stray = "\"prev\":\"00ab\"},\"event\":{\"eventName\":\"Decrypt\"".getBytes(StandardCharsets.UTF_8);
    System.arraycopy(stray, 0, image, end + 4096, stray.length);
    Files.write(file, image);
    AuditTesting.assertTruncatedInsideLine(dir, 7);

    JsonObject details = AuditTesting.restartAndReadRepair(dir, signer, file);
    assertEquals(end, details.getInteger("offset"));
    assertEquals(4096 + stray.length, details.getInteger("removedBytes"), "from the end of the last line to the "
        + "last byte written");
    byte[] after = Files.readAllBytes(file);
    assertEquals(after.length, AuditFiles.firstZero(after));
    AuditVerifier.Report r = verify(dir);
    assertEquals(0, r.exitCode(), r.problems().toString());
  }

  @Test
  void aCrashWithOnlyZerosAfterTheLines_continuesWithoutARepair() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc-clean");
    byte[] image = crashImage(dir, 3);
    Path file = AuditTesting.only(dir);
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

  /**
   * Appenders that outrun the zeros: with half a megabyte ahead and many writers, the writer keeps reaching bytes not
   * yet zeroed, stops the extension there and grows the file itself. No line is ever overwritten by zeros, and a
   * close in the middle of an extension leaves no zero tail (it used to skip waiting for the extension).
   */
  @Test
  void writersThatOutrunTheZeros_loseNoLine_andCloseLeavesNoTail() throws Exception {
    Path dir = TestToken.scratch("audit-prealloc-outrun");
    AuditLog.Settings s = new AuditLog.Settings(dir, 64L << 20, 0, 100_000, Duration.ofHours(1), "111122223333",
        "us-east-1", 512 << 10);
    int threads = 16;
    int each = 1_500;
    String large = "d".repeat(100_000);
    int bigOnes = 0;
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      // batches of large events right behind a small one: writes that reach past the zeros while they are written
      for (int round = 0; round < 20; round++) {
        log.append(event(-1)).join();
        List<java.util.concurrent.CompletableFuture<Void>> big = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          big.add(log.append(AuditEvent.apiCall("CreateKey").time(java.time.Instant.now()).caller(AuditTesting.USER)
              .requestParameters(new JsonObject().put("Description", large)).build()));
          bigOnes++;
        }
        big.forEach(java.util.concurrent.CompletableFuture::join);
      }
      List<Thread> writers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int base = t * each;
        Thread w = new Thread(() -> {
          List<java.util.concurrent.CompletableFuture<Void>> done = new ArrayList<>();
          for (int i = 0; i < each; i++) {
            done.add(log.append(event(base + i)));
          }
          done.forEach(java.util.concurrent.CompletableFuture::join);
        });
        w.start();
        writers.add(w);
      }
      for (Thread w : writers) {
        w.join(TimeUnit.MINUTES.toMillis(2));
      }
    }
    byte[] closed = Files.readAllBytes(AuditTesting.only(dir));
    assertEquals(closed.length, AuditFiles.firstZero(closed), "no zero byte inside or after the lines");
    AuditVerifier.Report report = verify(dir);
    assertEquals(0, report.exitCode(), report.problems() + " " + report.notCovered());
    // the header, every event, the started and stopped markers' digests at most: count the events themselves
    long events = new String(closed, StandardCharsets.UTF_8).lines().filter(l -> l.contains("\"event\":{")).count();
    assertEquals((long) threads * each + 20 + bigOnes, events);
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

  /**
   * The only file of a trail of {@code events} events (no signer, so no digest) as a kill -9 leaves it: complete lines,
   * then the pre-allocated zeros. The trail is closed afterwards, which cuts the zeros off the file on disk.
   */
  private static byte[] crashImage(Path dir, int events) throws Exception {
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), DigestSigner.NONE, List.of())) {
      for (int i = 0; i < events; i++) {
        log.append(event(i)).join();
      }
      return withZeroTail(log, AuditTesting.only(dir));
    }
  }

  /** The file once the extensions asked for so far have landed (they run on the allocator's thread). */
  private static byte[] withZeroTail(AuditLog log, Path file) throws Exception {
    log.allocatorIdle().get(10, TimeUnit.SECONDS);
    byte[] b = Files.readAllBytes(file);
    assertTrue(b.length > 0 && b[b.length - 1] == 0, "the file was extended with zeros: " + b.length + " bytes");
    return b;
  }
}
