package io.kmsgw.testing;

import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.VendorProfile;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.hsm.pkcs11.SharedModule;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * A fresh SoftHSM2 token for one test class, under {@code target/softhsm/} (Maven points {@code SOFTHSM2_CONF} at
 * {@code target/softhsm/softhsm2.conf}; SoftHSM2 reads it once per process, so every class shares the token
 * directory and gets a token of its own by label). Never the system token directory. On NSS
 * ({@link TokenKind#NSS}) the token of the JVM's NSS database, which needs its initialisation arguments.
 */
public final class TestToken {
  public static final String SO_PIN = "so-pin-1234";
  public static final String USER_PIN = "user-pin-1234";

  private final TokenKind kind;
  private final String label;
  private final String library;
  /** NSS's parameters for {@code C_Initialize}'s {@code pReserved}; null for SoftHSM2. */
  private final String initArgs;

  TestToken(TokenKind kind, String label, String library, String initArgs) {
    this.kind = kind;
    this.label = label;
    this.library = library;
    this.initArgs = initArgs;
  }

  /** Creates a new token; the label carries a random suffix so no two classes or runs share one. */
  public static TestToken create(String name) {
    return create(name, null);
  }

  /**
   * Creates a new token through this PKCS#11 library, which forwards to SoftHSM2 (the test module,
   * {@link TestPkcs11Module}); null for SoftHSM2 itself. The token is then known to the library's own SoftHSM2
   * instance from the start.
   */
  public static TestToken create(String name, String throughLibrary) {
    String conf = System.getProperty("kmsgw.test.softhsm.conf");
    String env = System.getenv("SOFTHSM2_CONF");
    if (conf == null || env == null || !Path.of(conf).toAbsolutePath().equals(Path.of(env).toAbsolutePath())) {
      throw new IllegalStateException("run tests through Maven: SOFTHSM2_CONF must point at target/softhsm/softhsm2.conf");
    }
    try {
      Path confPath = Path.of(conf);
      SoftHsmTokens.writeConfig(confPath, confPath.getParent().resolve("tokens"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String library = throughLibrary != null ? throughLibrary : ConfigLoader.findSoftHsmLibrary()
        .orElseThrow(() -> new IllegalStateException("SoftHSM2 is not installed (apt-get install softhsm2)"));
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String base = name.length() > 22 ? name.substring(0, 22) : name;
    String label = base + "-" + suffix;
    try {
      SoftHsmTokens.initToken(library, label, SO_PIN.toCharArray(), USER_PIN.toCharArray());
    } catch (HsmException e) {
      throw new IllegalStateException("cannot create a SoftHSM2 test token: " + e.getMessage(), e);
    }
    return new TestToken(TokenKind.SOFTHSM2, label, library, null);
  }

  public TokenKind kind() {
    return kind;
  }

  /** The string NSS needs in {@code C_Initialize}'s {@code pReserved}, or null. */
  public String initArgs() {
    return initArgs;
  }

  public String label() {
    return label;
  }

  public String library() {
    return library;
  }

  public Pkcs11Options options(int poolSize) {
    return options(poolSize, USER_PIN, Duration.ofSeconds(2));
  }

  public Pkcs11Options options(int poolSize, String pin, Duration borrowTimeout) {
    return options().poolSize(poolSize).pin(pin).borrowTimeout(borrowTimeout).build();
  }

  /**
   * Adapter options for this token as its kind's vendor profile sets them (the tag-mismatch code, session-object
   * copies), to change before {@link OptionsBuilder#build()}.
   */
  public OptionsBuilder options() {
    return new OptionsBuilder();
  }

  /** {@link Pkcs11Options} for this token, with what a test changes. */
  public final class OptionsBuilder {
    private String optionLibrary = library;
    private String optionLabel = label;
    private String pin = USER_PIN;
    private int poolSize = 4;
    private Duration borrowTimeout = Duration.ofSeconds(2);
    private Duration validateAfterIdle = Duration.ofSeconds(10);
    private int minHsms = 1;

    private OptionsBuilder() {}

    public OptionsBuilder library(String value) {
      optionLibrary = value;
      return this;
    }

    public OptionsBuilder label(String value) {
      optionLabel = value;
      return this;
    }

    public OptionsBuilder pin(String value) {
      pin = value;
      return this;
    }

    public OptionsBuilder poolSize(int value) {
      poolSize = value;
      return this;
    }

    public OptionsBuilder borrowTimeout(Duration value) {
      borrowTimeout = value;
      return this;
    }

    public OptionsBuilder validateAfterIdle(Duration value) {
      validateAfterIdle = value;
      return this;
    }

    public OptionsBuilder minHsms(int value) {
      minHsms = value;
      return this;
    }

    public Pkcs11Options build() {
      VendorProfile profile = kind.profile();
      String p = pin;
      return new Pkcs11Options(optionLibrary, optionLabel, p::toCharArray, poolSize, borrowTimeout, validateAfterIdle,
          profile.gcmGeneralErrorOnTagMismatch(), profile.sessionKeyCopies(), minHsms).withInitArgs(initArgs);
    }
  }

  /** The library as the adapter loads it, shared by every connection of this JVM. */
  public SharedModule sharedModule() throws HsmException {
    return SharedModule.of(library, initArgs);
  }

  /** A directory under target/ for this test's files. */
  public static Path scratch(String name) {
    try {
      Path dir = Path.of("target", "test-data", name + "-" + UUID.randomUUID().toString().substring(0, 8));
      Files.createDirectories(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
