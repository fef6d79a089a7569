package io.kmsgw.store.jdbc;

import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Run in a child JVM by {@link StoreDurabilityTest}: several threads commit on the store's own connection pool as
 * the gateway's store workers do (new keys, then new versions of them), and print a line after each commit returns,
 * until the process is killed.
 */
public final class StoreCrashStormChild {
  public static void main(String[] args) throws Exception {
    int threads = Integer.parseInt(args[1]);
    // args[2]: settings appended to the URL (a short RETENTION_TIME lets H2 reuse file space within the test's
    // seconds instead of after 45 s, as it does in a gateway that has run a while)
    String url = StoreFactory.embeddedUrl(Path.of(args[0])) + (args.length > 2 ? args[2] : "");
    JdbcMetadataStore store = StoreFactory.open(url, null, null, threads);
    for (int t = 0; t < threads; t++) {
      Thread worker = new Thread(() -> {
        while (true) {
          UUID id = UUID.randomUUID();
          store.insertKey(JdbcMetadataStoreTest.key(id, KeyState.ENABLED, List.of()));
          say("KEY " + id);
          for (int v = 2; v <= 4; v++) {
            store.addVersion(id, new KeyVersion(v, "kmsgw:" + id + ":v" + v, new byte[] {4, 5, 6}, Instant.now(),
                "ON_DEMAND"), KeyRotation.DISABLED);
            say("VERSION " + id + " " + v);
          }
        }
      });
      worker.start();
    }
    Thread.sleep(600_000);
  }

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
