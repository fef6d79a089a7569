package io.kmsgw.store.jdbc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Opens the metadata store: the configured JDBC URL, or an embedded H2 file under the data directory. */
public final class StoreFactory {
  private StoreFactory() {}

  /**
   * The embedded H2 URL for a data directory. {@code WRITE_DELAY=0} makes every commit reach the file before
   * the commit returns, so an acknowledged write survives the process being killed.
   */
  public static String embeddedUrl(Path dataDir) {
    OwnerOnlyFilePath.register();
    return "jdbc:h2:" + OwnerOnlyFilePath.SCHEME + ":" + dataDir.resolve("metadata").resolve("kmsgw").toAbsolutePath()
        + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
  }

  public static JdbcMetadataStore open(String url, String user, String password, int connections) {
    // before H2 opens the file itself: commits it would not find after a kill (see EmbeddedH2Recovery)
    EmbeddedH2Recovery.recoverIfUnclean(EmbeddedH2Recovery.fileOf(url));
    tightenEmbedded(url);
    ConnectionPool pool = new ConnectionPool(url, user, password, connections);
    try {
      Migrations.apply(pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
    return new JdbcMetadataStore(pool);
  }

  /**
   * For an embedded URL: the database directory and the files already in it become owner-only (0700 and 0600),
   * as {@link OwnerOnlyFilePath} creates new ones; an older kmsgw left them 0644 inside the 0700 data directory.
   */
  private static void tightenEmbedded(String url) {
    String prefix = "jdbc:h2:" + OwnerOnlyFilePath.SCHEME + ":";
    if (!url.startsWith(prefix)) {
      return;
    }
    String file = url.substring(prefix.length());
    int semicolon = file.indexOf(';');
    Path dir = Path.of(semicolon < 0 ? file : file.substring(0, semicolon)).getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    OwnerOnlyFilePath.ownerOnly(dir);
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(OwnerOnlyFilePath::ownerOnly);
    } catch (IOException e) {
      // H2 reports an unreadable directory itself, with more to say
    }
  }
}
