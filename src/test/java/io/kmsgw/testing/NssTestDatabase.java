package io.kmsgw.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The test JVM's NSS database: created fresh under {@code target/test-data/} the first time a test asks for it, with
 * the crypto user PIN {@link TestToken#USER_PIN}, and reached through NSS's software token ({@code libsoftokn3.so})
 * with its parameters in {@code C_Initialize}'s {@code pReserved}.
 *
 * <p>One per JVM, because a process initialises a PKCS#11 library once, with one parameter string, and NSS's
 * softoken opens its databases then: every test class on NSS shares this database's one key token
 * ({@value #TOKEN_LABEL}), one class after the other (each closes its connections when it ends). Key labels carry
 * random parts, so classes do not meet each other's keys except through listings by prefix.
 */
public final class NssTestDatabase {
  /** The label NSS gives the key token of a database it opened read-write. */
  public static final String TOKEN_LABEL = "NSS Certificate DB";

  private static TestToken token;

  private NssTestDatabase() {}

  /** The token of the JVM's database, created on first use. */
  public static synchronized TestToken token() {
    if (token == null) {
      Path dir = TestToken.scratch("nss-db").toAbsolutePath();
      create(dir);
      token = new TestToken(TokenKind.NSS, TOKEN_LABEL, library(), initArgs(dir));
    }
    return token;
  }

  /** NSS's parameter string for a database in {@code dir}. */
  public static String initArgs(Path dir) {
    return "configdir='sql:" + dir + "' certPrefix='' keyPrefix='' secmod='secmod.db' flags=";
  }

  /** Debian's NSS software token. */
  public static String library() {
    return List.of("/usr/lib/x86_64-linux-gnu/libsoftokn3.so", "/usr/lib/aarch64-linux-gnu/libsoftokn3.so",
            "/usr/lib64/libsoftokn3.so", "/usr/lib/libsoftokn3.so").stream()
        .filter(p -> Files.isReadable(Path.of(p))).findFirst()
        .orElseThrow(() -> new IllegalStateException("NSS's libsoftokn3.so is not installed (apt-get install libnss3); "
            + "-D" + TokenKind.PROPERTY + "=softhsm2 runs the suite on SoftHSM2 alone"));
  }

  /**
   * A new database with the crypto user PIN set, by NSS's own {@code certutil -N} (Debian {@code libnss3-tools}),
   * as an operator makes one.
   */
  private static void create(Path dir) {
    Path pinFile = dir.resolve("pin.txt");
    try {
      Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(pinFile, TestToken.USER_PIN + "\n", StandardCharsets.UTF_8);
      Process p = new ProcessBuilder("certutil", "-N", "-d", "sql:" + dir, "-f", pinFile.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("certutil -N failed in " + dir + ": " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create an NSS database (apt-get install libnss3-tools): " + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      try {
        Files.deleteIfExists(pinFile);
      } catch (IOException e) {
        // under target/: removed with it
      }
    }
  }
}
