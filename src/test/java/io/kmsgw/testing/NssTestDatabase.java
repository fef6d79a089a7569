package io.kmsgw.testing;

import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.NssTokens;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
  public static final String TOKEN_LABEL = NssTokens.KEY_TOKEN_LABEL;

  private static TestToken token;
  private static Path directory;

  private NssTestDatabase() {}

  /** The token of the JVM's database, created on first use. */
  public static synchronized TestToken token() {
    if (token == null) {
      Path dir = TestToken.scratch("nss-db").toAbsolutePath();
      create(dir, initArgs(dir));
      token = new TestToken(TokenKind.NSS, TOKEN_LABEL, library(), initArgs(dir));
      directory = dir;
    }
    return token;
  }

  /** The directory of the JVM's database ({@code configdir}), created on first use. */
  public static synchronized Path directory() {
    token();
    return directory;
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
   * A new database with the crypto user PIN set: NSS creates it when it opens the empty directory, and the security
   * officer sets the PIN as the development setup does ({@link NssTokens#initPin}).
   */
  private static void create(Path dir, String initArgs) {
    try {
      if (NssTokens.pinInitialized(library(), initArgs)) {
        throw new IllegalStateException("a new NSS database in " + dir + " already has a user PIN");
      }
      NssTokens.initPin(library(), initArgs, TestToken.USER_PIN.toCharArray());
      if (!NssTokens.pinInitialized(library(), initArgs)) {
        throw new IllegalStateException("NSS reports no user PIN after C_InitPIN in " + dir);
      }
    } catch (HsmException e) {
      throw new IllegalStateException("cannot create the NSS test database in " + dir + ": " + e.getMessage(), e);
    }
  }
}
