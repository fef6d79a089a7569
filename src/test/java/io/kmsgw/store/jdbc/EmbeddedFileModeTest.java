package io.kmsgw.store.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kmsgw.domain.KeyState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #15 item 8: the embedded database's files are 0600 and its directory 0700 whatever the process umask, and
 * files an older kmsgw left 0644 are tightened when the store opens.
 */
class EmbeddedFileModeTest {
  @TempDir
  Path dir;

  /** The test means something only where a plainly created file is readable by others (a umask like 022). */
  @BeforeEach
  void umaskIsPermissive() throws Exception {
    Path probe = Files.createFile(dir.resolve("probe"));
    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(probe));
    Files.delete(probe);
    assumeTrue(mode.charAt(6) == 'r', "the test JVM's umask already hides files from others (" + mode + ")");
  }

  private static List<String> looseModes(Path root) throws Exception {
    List<String> loose = new ArrayList<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        String want = Files.isDirectory(p) ? "rwx------" : "rw-------";
        if (!mode.equals(want)) {
          loose.add(root.relativize(p) + " " + mode);
        }
      }
    }
    return loose;
  }

  private void useTheStore() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      for (int i = 0; i < 20; i++) {
        store.insertKey(JdbcMetadataStoreTest.key(UUID.randomUUID(), KeyState.ENABLED, List.of()));
      }
    }
  }

  @Test
  void everyFileTheStoreCreates_isOwnerOnly() throws Exception {
    useTheStore();
    Path metadata = dir.resolve("metadata");
    try (Stream<Path> files = Files.list(metadata)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().endsWith(".mv.db")), "the store wrote a database");
    }
    assertEquals(List.of(), looseModes(metadata));
    // opened again (recovery, compaction on close) it stays so
    useTheStore();
    assertEquals(List.of(), looseModes(metadata));
  }

  @Test
  void filesLeftLooseByAnOlderVersion_areTightenedOnOpen() throws Exception {
    useTheStore();
    Path metadata = dir.resolve("metadata");
    Files.setPosixFilePermissions(metadata, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (Stream<Path> files = Files.list(metadata)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
      }
    }
    assertFalse(looseModes(metadata).isEmpty());
    useTheStore();
    assertEquals(List.of(), looseModes(metadata));
  }
}
