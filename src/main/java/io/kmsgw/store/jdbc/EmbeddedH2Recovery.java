package io.kmsgw.store.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.h2.mvstore.MVStore;

/**
 * Finds every committed write of an embedded H2 file after the process was killed, before the store is opened.
 *
 * <p>Why: H2's MVStore writes each commit as a new chunk, often into space freed by old chunks (once they are older
 * than its retention time, 45 s). When a chunk lands elsewhere than the previous chunk predicted, H2 rewrites the
 * file header, but the header it writes points to the <em>previous</em> chunk ({@code RandomAccessStore.writeChunk}
 * runs before {@code FileStore.storeBuffer} sets {@code lastChunk}). An ordinary open after an unclean shutdown
 * finds chunks from the header, by following each chunk's prediction of the next, and at the end of the file; it
 * never sees the newest chunk, and the commits in it, acknowledged and on disk, are silently rolled back
 * ({@code StoreDurabilityTest} shows it). Opening the file once in MVStore's recovery mode scans every block for
 * chunks and takes the newest complete set; closing it writes a clean header that points to that chunk, which the
 * normal open then uses.
 *
 * <p>Only a file whose header lacks H2's clean-shutdown mark is scanned: after an orderly stop nothing changes.
 */
final class EmbeddedH2Recovery {
  private static final Logger LOG = Logger.getLogger(EmbeddedH2Recovery.class.getName());
  private static final int BLOCK = 4096;
  private static final Pattern CLEAN = Pattern.compile("(^|,)clean:[0-9a-fA-F]+(,|$)");

  private EmbeddedH2Recovery() {}

  /** The {@code .mv.db} file of an embedded URL (H2's {@code file:} or the owner-only scheme), else null. */
  static Path fileOf(String url) {
    // an encrypted file cannot be read without its key; such a store keeps H2's own recovery
    String prefix = url.startsWith("jdbc:h2:file:") ? "jdbc:h2:file:"
        : url.startsWith("jdbc:h2:" + OwnerOnlyFilePath.SCHEME + ":") ? "jdbc:h2:" + OwnerOnlyFilePath.SCHEME + ":"
        : null;
    if (prefix == null || url.toUpperCase(java.util.Locale.ROOT).contains(";CIPHER=")) {
      return null;
    }
    String rest = url.substring(prefix.length());
    int semicolon = rest.indexOf(';');
    return Path.of((semicolon < 0 ? rest : rest.substring(0, semicolon)) + ".mv.db");
  }

  /** Scans and rewrites the header of a file left by a process that did not close it; true if it did. */
  static boolean recoverIfUnclean(Path file) {
    if (file == null || !Files.isRegularFile(file) || cleanlyClosed(file)) {
      return false;
    }
    long started = System.nanoTime();
    try (MVStore store = new MVStore.Builder().fileName(file.toString()).recoveryMode().open()) {
      long version = store.getCurrentVersion();
      LOG.info(() -> "metadata store: " + file.getFileName() + " was not closed cleanly; recovered up to version "
          + version + " by a full scan in " + (System.nanoTime() - started) / 1_000_000 + " ms");
      return true;
    } catch (RuntimeException e) {
      // locked by another process, or unreadable: H2's own open then fails with its usual, clearer message
      LOG.warning(() -> "metadata store: the recovery scan of " + file.getFileName() + " did not run: " + e);
      return false;
    }
  }

  /** Both header blocks carry H2's clean-shutdown mark. */
  static boolean cleanlyClosed(Path file) {
    byte[] head = new byte[2 * BLOCK];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    } catch (IOException e) {
      return false;
    }
    if (n < 2 * BLOCK) {
      return false;
    }
    for (int block = 0; block < 2; block++) {
      String text = new String(head, block * BLOCK, BLOCK, StandardCharsets.ISO_8859_1);
      int end = text.indexOf('\n');
      if (end < 0 || !CLEAN.matcher(text.substring(0, end)).find()) {
        return false;
      }
    }
    return true;
  }
}
