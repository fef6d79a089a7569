package io.kmsgw.store.jdbc;

import java.nio.file.Path;

/** Opens the metadata store: the configured JDBC URL, or an embedded H2 file under the data directory. */
public final class StoreFactory {
  private StoreFactory() {}

  /**
   * The embedded H2 URL for a data directory. {@code WRITE_DELAY=0} makes every commit reach the file before
   * the commit returns, so an acknowledged write survives the process being killed.
   */
  public static String embeddedUrl(Path dataDir) {
    return "jdbc:h2:file:" + dataDir.resolve("metadata").resolve("kmsgw").toAbsolutePath()
        + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
  }

  public static JdbcMetadataStore open(String url, String user, String password, int connections) {
    // before H2 opens the file itself: commits it would not find after a kill (see EmbeddedH2Recovery)
    EmbeddedH2Recovery.recoverIfUnclean(EmbeddedH2Recovery.fileOf(url));
    ConnectionPool pool = new ConnectionPool(url, user, password, connections);
    try {
      Migrations.apply(pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
    return new JdbcMetadataStore(pool);
  }
}
