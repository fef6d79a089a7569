package io.kmsgw.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/** Small files holding secrets, created readable and writable by their owner only (mode 0600). */
final class SecretFiles {
  private static final SecureRandom RANDOM = new SecureRandom();
  static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private SecretFiles() {}

  /** Creates the file with mode 0600 and writes the content; fails if it exists. */
  static void createPrivate(Path file, String content) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    } catch (FileAlreadyExistsException e) {
      throw e;
    }
    Files.writeString(file, content, StandardCharsets.UTF_8);
  }

  static String random(String alphabet, int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /**
   * Creates a directory readable by its owner only (0700); an existing one that others can read is reported,
   * not changed (it may be shared on purpose).
   */
  static void privateDirectory(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      try {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (UnsupportedOperationException e) {
        Files.createDirectories(dir);
      }
      return;
    }
    try {
      var perms = Files.getPosixFilePermissions(dir);
      if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
        java.util.logging.Logger.getLogger(SecretFiles.class.getName()).warning(() -> dir
            + " is accessible to other users (" + PosixFilePermissions.toString(perms)
            + "); it holds key metadata and credentials: chmod 700 it");
      }
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
  }

  /** The first line of a file, trimmed (a PIN file). */
  static String firstLine(Path file) throws IOException {
    String s = Files.readString(file, StandardCharsets.UTF_8);
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }
}
