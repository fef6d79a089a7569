package io.kmsgw.store.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded store under SIGKILL while several connections commit at once, as the gateway's store workers do: every
 * write whose commit returned is there after the kill, however many times the process is killed.
 */
class StoreDurabilityTest {
  @TempDir
  Path dir;

  @Test
  void commitsOnSeveralConnections_surviveRepeatedKillMinus9() throws Exception {
    int rounds = Integer.getInteger("kmsgw.store.kills", 6);
    for (int round = 0; round < rounds; round++) {
      Map<UUID, Integer> committed = new HashMap<>();
      Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), StoreCrashStormChild.class.getName(), dir.toString(), "4",
          ";RETENTION_TIME=20")
          .redirectErrorStream(true).start();
      List<String> other = new ArrayList<>();
      try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        int lines = 0;
        // kill after a number of commits that varies from round to round
        int killAfter = 200 + 150 * round;
        while (lines < killAfter && (line = out.readLine()) != null) {
          String[] f = line.split(" ");
          if (f[0].equals("KEY")) {
            committed.put(UUID.fromString(f[1]), 1);
            lines++;
          } else if (f[0].equals("VERSION")) {
            committed.put(UUID.fromString(f[1]), Integer.parseInt(f[2]));
            lines++;
          } else {
            other.add(line);
          }
        }
        child.destroyForcibly();
        assertTrue(child.waitFor(10, TimeUnit.SECONDS));
      }
      assertTrue(!committed.isEmpty(), "the child committed nothing: " + other);
      try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 1)) {
        List<String> lost = new ArrayList<>();
        for (Map.Entry<UUID, Integer> e : committed.entrySet()) {
          KeyRecord k = store.findKey(e.getKey()).orElse(null);
          if (k == null || k.currentVersion() < e.getValue()) {
            lost.add(e.getKey() + " acknowledged at version " + e.getValue() + ", found "
                + (k == null ? "nothing" : "version " + k.currentVersion()));
          }
        }
        assertEquals(List.of(), lost, "round " + round + ": committed writes lost after kill -9");
      }
    }
  }

  @Test
  void anOrderlyClose_leavesACleanFile_thatIsNotScanned() {
    try (JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(dir), null, null, 2)) {
      store.insertKey(JdbcMetadataStoreTest.key(UUID.randomUUID(), io.kmsgw.domain.KeyState.ENABLED, List.of()));
    }
    Path file = EmbeddedH2Recovery.fileOf(StoreFactory.embeddedUrl(dir));
    assertTrue(EmbeddedH2Recovery.cleanlyClosed(file), "H2 marks a closed file clean");
    assertEquals(false, EmbeddedH2Recovery.recoverIfUnclean(file));
  }
}
