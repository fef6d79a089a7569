package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue #15 item 8: the audit files are readable by the gateway's user only (0600, the directory 0700), the files a
 * rotation starts included, whatever the process's umask lets through (the test JVM runs with the usual 022).
 */
class AuditFileModeTest {
  @Test
  void auditFiles_andRotatedOnes_areCreated0600_inA0700Directory() throws Exception {
    Path dir = TestToken.scratch("audit-mode").resolve("audit");
    // small files: every few events a digest and a new file
    AuditLog.Settings s = new AuditLog.Settings(dir, 4096, 0, 5, Duration.ofSeconds(60), "111122223333",
        "us-east-1");
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), new SoftwareSigner(), List.of())) {
      for (int i = 0; i < 30; i++) {
        log.append(AuditTesting.event(i)).join();
      }
    }
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    assertTrue(files.size() >= 3, "rotation started new files: " + files);
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    for (AuditFiles.Entry f : files) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.path())), f.name());
    }
    assertEquals(0, AuditTesting.verify(dir).exitCode());
  }

  @Test
  void filesAnEarlierVersionLeft0644_areNarrowedAtStart() throws Exception {
    Path dir = TestToken.scratch("audit-mode-old");
    Path file = AuditTesting.writeLog(dir, new SoftwareSigner(), 3);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    AuditLog.open(AuditTesting.settings(dir), Clock.systemUTC(), new SoftwareSigner(), List.of()).close();
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
  }
}
