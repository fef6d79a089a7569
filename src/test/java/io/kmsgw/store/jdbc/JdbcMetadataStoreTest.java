package io.kmsgw.store.jdbc;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
import io.kmsgw.store.StoreException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JdbcMetadataStoreTest {
  @TempDir
  Path dir;

  static KeyRecord key(UUID id, KeyState state, List<Tag> tags) {
    Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
    return new KeyRecord(id, "111122223333", "us-east-1", now, "description \u00e9", state, KeyUsage.ENCRYPT_DECRYPT,
        KeySpec.SYMMETRIC_DEFAULT, Origin.AWS_KMS, "default", 1, null, 0, io.kmsgw.domain.KeyRotation.DISABLED,
        List.of(new KeyVersion(1, "kmsgw:" + id + ":v1", new byte[] {1, 2, 3}, now, null)), tags);
  }

  @Test
  void insertAndFind_roundTripsEveryField() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      KeyRecord k = key(UUID.randomUUID(), KeyState.ENABLED, List.of(new Tag("b", "2"), new Tag("a", "1")));
      store.insertKey(k);
      assertEquals(k, store.findKey(k.keyId()).orElseThrow());
      assertTrue(store.findKey(UUID.randomUUID()).isEmpty());
    }
  }

  @Test
  void updateKeyState_onlyFromTheExpectedState() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      KeyRecord k = key(UUID.randomUUID(), KeyState.CREATING, List.of());
      store.insertKey(k);
      assertFalse(store.updateKeyState(k.keyId(), KeyState.ENABLED, KeyState.DISABLED));
      assertTrue(store.updateKeyState(k.keyId(), KeyState.CREATING, KeyState.ENABLED));
      assertEquals(KeyState.ENABLED, store.findKey(k.keyId()).orElseThrow().state());
    }
  }

  @Test
  void deleteKey_removesVersionsAndTagsToo() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      KeyRecord k = key(UUID.randomUUID(), KeyState.ENABLED, List.of(new Tag("a", "1")));
      store.insertKey(k);
      assertTrue(store.deleteKey(k.keyId()));
      assertFalse(store.deleteKey(k.keyId()));
      store.insertKey(k);
      assertEquals(k, store.findKey(k.keyId()).orElseThrow(), "no leftover child rows got in the way");
    }
  }

  @Test
  void insertKey_duplicateId_failsAndChangesNothing() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      KeyRecord k = key(UUID.randomUUID(), KeyState.ENABLED, List.of());
      store.insertKey(k);
      assertThrows(StoreException.class, () -> store.insertKey(k));
      assertEquals(1, store.allKeys().size());
    }
  }

  @Test
  void listKeys_isOrderedByKeyIdAndStartsAfterTheMarker() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      for (int i = 0; i < 5; i++) {
        store.insertKey(key(UUID.randomUUID(), KeyState.ENABLED, List.of()));
      }
      List<KeyRecord> first = store.listKeys("111122223333", null, 3);
      assertEquals(3, first.size());
      List<KeyRecord> rest = store.listKeys("111122223333", first.get(2).keyId().toString(), 3);
      assertEquals(2, rest.size());
      assertTrue(first.get(2).keyId().toString().compareTo(rest.get(0).keyId().toString()) < 0);
      assertTrue(store.listKeys("999999999999", null, 10).isEmpty());
    }
  }

  @Test
  void migrations_areAppliedOnceAndRecorded() throws Exception {
    StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1).close();
    StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1).close();
    try (Connection c = DriverManager.getConnection(StoreFactory.embeddedUrl(dir));
        Statement s = c.createStatement();
        var rs = s.executeQuery("SELECT COUNT(*), MAX(version) FROM schema_version")) {
      rs.next();
      assertEquals(Migrations.SCRIPTS.size(), rs.getInt(1));
      assertEquals(Migrations.SCRIPTS.size(), rs.getInt(2));
    }
  }

  @Test
  void open_databaseFromANewerKmsgw_isRefused() throws Exception {
    StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1).close();
    try (Connection c = DriverManager.getConnection(StoreFactory.embeddedUrl(dir)); Statement s = c.createStatement()) {
      s.execute("INSERT INTO schema_version VALUES (999, 'V999__future.sql', 0)");
    }
    StoreException e = assertThrows(StoreException.class,
        () -> StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1));
    assertTrue(e.getMessage().contains("newer kmsgw"), e.getMessage());
  }

  @Test
  void connectionsLostDuringAnOutage_areReopenedAfterwards() throws Exception {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      store.insertKey(key(UUID.randomUUID(), KeyState.ENABLED, List.of()));
      // every open connection dies (database restart, network cut)
      try (Connection admin = DriverManager.getConnection(StoreFactory.embeddedUrl(dir));
          Statement s = admin.createStatement()) {
        s.execute("SHUTDOWN");
      }
      for (int i = 0; i < 5; i++) {
        assertEquals(1, store.allKeys().size(), "attempt " + i);
      }
    }
  }

  @Test
  void redact_hidesPasswordsInJdbcUrls() {
    assertEquals("jdbc:postgresql://db/kms?user=k&password=***",
        ConnectionPool.redact("jdbc:postgresql://db/kms?user=k&password=s3cret"));
  }

  /** A committed write survives the process being killed (SIGKILL) right after the commit returned. */
  @Test
  void committedWrite_survivesKillMinus9() throws Exception {
    UUID id = UUID.randomUUID();
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), StoreCrashChild.class.getName(), dir.toString(), id.toString())
        .redirectErrorStream(true).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.equals("COMMITTED")) {
        // wait for the child to report its commit
      }
      assertEquals("COMMITTED", line, "the child did not commit");
      child.destroyForcibly();
      assertTrue(child.waitFor(10, TimeUnit.SECONDS));
    }
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1)) {
      assertEquals(KeyState.ENABLED, store.findKey(id).orElseThrow().state());
    }
  }
}
