package io.kmsgw.store.jdbc;

import io.kmsgw.domain.KeyState;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/** Run in a child JVM by JdbcMetadataStoreTest: commits one key, says so, then waits to be killed. */
public final class StoreCrashChild {
  public static void main(String[] args) throws Exception {
    JdbcMetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(Path.of(args[0])), null, null, 1);
    store.insertKey(JdbcMetadataStoreTest.key(UUID.fromString(args[1]), KeyState.ENABLED, List.of()));
    System.out.println("COMMITTED");
    System.out.flush();
    Thread.sleep(60_000);
  }
}
