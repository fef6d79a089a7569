package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import io.kmsgw.testing.Tmpfs;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A full disk under the audit directory (issue #15, "Make it stay fixed"): a small tmpfs is mounted as the audit
 * directory (needs root; skipped with a message otherwise) and filled. Events that cannot be written are refused,
 * never acknowledged; every acknowledged one is in the trail; when space returns the trail takes events again
 * without a restart, a rotation that failed on the full disk is done then, and the chain verifies across the gap.
 */
class AuditDiskFullTest {
  private Path mounted;

  @AfterEach
  void unmount() throws Exception {
    if (mounted != null) {
      Tmpfs.unmount(mounted);
    }
  }

  /** Mounts a tmpfs of {@code size} at a new directory; skips the test when that cannot be done (not root). */
  private Path tmpfs(String size) throws Exception {
    Path dir = TestToken.scratch("audit-full").toAbsolutePath();
    Tmpfs.mountOrSkip(dir, size, "AuditDiskFullTest");
    mounted = dir;
    return dir;
  }

  @Test
  void fullDisk_refusesEvents_losesNoAcknowledgedOne_andRecoversWithoutRestart_rotationIncluded() throws Exception {
    Path dir = tmpfs("1m");
    SoftwareSigner signer = new SoftwareSigner();
    // 128 KiB files: pre-allocation keeps up to 128 KiB of zeros ahead of the writer, so once the disk is full the
    // file being written still has room, the rotation at 128 KiB is where the full disk first bites (its new file
    // cannot be created), and the writes after it fail once the zeros are used up
    AuditLog.Settings s = new AuditLog.Settings(dir, 128 << 10, 0, 100_000, Duration.ofHours(1), "111122223333",
        "us-east-1", 128 << 10, 256 << 10);
    Set<String> acked = new HashSet<>();
    List<String> refusals = new ArrayList<>();
    AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of());
    try {
      append(log, 0, 20, acked, refusals);
      log.allocatorIdle().get(10, TimeUnit.SECONDS);
      Path filler = dir.resolve("filler");
      Tmpfs.fill(filler);
      assertEquals(List.of(), refusals, "room ahead of the writer: nothing refused yet");

      append(log, 20, 400, acked, refusals);
      assertFalse(refusals.isEmpty(), "a full disk refuses events");
      assertTrue(refusals.get(0).contains("audit trail could not be written"), refusals.get(0));
      assertTrue(refusals.get(0).contains("No space left on device"), refusals.get(0));
      assertEquals(1, AuditFiles.list(dir).size(), "the rotation failed and left no file: " + AuditFiles.list(dir));
      assertEquals("WRITABLE", log.health().get("state"), "a full disk is not a broken trail: " + log.health());
      assertTrue((Long) log.health().get("failedWrites") > 0);
      assertEquals(Boolean.TRUE, log.health().get("lowSpace"), log.health().toString());

      // space returns: no restart, the next events are written, and the rotation that failed is done
      Files.delete(filler);
      int before = refusals.size();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      for (int i = 400; AuditFiles.list(dir).size() < 2; i++) {
        assertTrue(System.nanoTime() < deadline, "the rotation was not retried once space returned");
        append(log, i, i + 1, acked, refusals);
        Thread.sleep(50); // the writer retries a failed rotation a few seconds later
      }
      append(log, 10_000, 10_020, acked, refusals);
      assertEquals(before, refusals.size(), "refused after space returned: " + refusals.subList(before,
          refusals.size()));
    } finally {
      log.close();
    }

    Set<String> present = new HashSet<>();
    for (AuditFiles.Entry f : AuditFiles.list(dir)) {
      for (String l : AuditTesting.lines(f.path())) {
        if (l.contains("},\"event\":{")) {
          present.add(new JsonObject(l).getJsonObject("event").getString("requestID"));
        }
      }
    }
    Set<String> lost = new HashSet<>(acked);
    lost.removeAll(present);
    assertEquals(Set.of(), lost, "acknowledged events missing");
    AuditVerifier.Report r = AuditVerifier.verify(dir, Set.of(signer.fingerprint()));
    assertEquals(0, r.exitCode(), r.problems() + " " + r.notCovered());
    assertEquals(2, r.files().size());
  }

  @Test
  void freeSpaceBelowTheWatermark_isShownInHealth() throws Exception {
    Path dir = tmpfs("4m");
    AuditLog.Settings low = new AuditLog.Settings(dir, 64 << 20, 0, 1000, Duration.ofSeconds(60), "111122223333",
        "us-east-1", 0, 8 << 20);
    try (AuditLog log = AuditLog.open(low, Clock.systemUTC(), new SoftwareSigner(), List.of())) {
      assertEquals(Boolean.TRUE, log.health().get("lowSpace"), "4 MiB free, watermark 8 MiB");
    }
    AuditLog.Settings enough = new AuditLog.Settings(dir, 64 << 20, 0, 1000, Duration.ofSeconds(60),
        "111122223333", "us-east-1", 0, 1 << 20);
    try (AuditLog log = AuditLog.open(enough, Clock.systemUTC(), new SoftwareSigner(), List.of())) {
      assertEquals(Boolean.FALSE, log.health().get("lowSpace"), "about 4 MiB free, watermark 1 MiB");
    }
  }

  /** Appends events {@code from..to-1} one by one, noting acknowledgements and refusals. */
  private static void append(AuditLog log, int from, int to, Set<String> acked, List<String> refusals) {
    for (int i = from; i < to; i++) {
      try {
        log.append(AuditTesting.event(i)).join();
        acked.add("req-" + i);
      } catch (CompletionException e) {
        assertTrue(e.getCause() instanceof AuditException, e.toString());
        refusals.add(e.getCause().getMessage());
      }
    }
  }
}
