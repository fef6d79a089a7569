package io.kmsgw.testing;

import io.kmsgw.config.VendorProfile;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The real PKCS#11 implementations the {@link OnEveryToken} suite runs on. {@code -Dkmsgw.test.tokens=softhsm2} (or
 * {@code nss}, or both separated by a comma: the default) narrows a run to some of them.
 */
public enum TokenKind {
  /** SoftHSM2 from Debian's {@code softhsm2}: a fresh token per test class, created with {@code C_InitToken}. */
  SOFTHSM2,
  /**
   * NSS's software token from Debian's {@code libnss3} ({@code libsoftokn3.so}), initialised with its parameters in
   * {@code C_Initialize}'s {@code pReserved}: one fresh database per test JVM ({@link NssTestDatabase}), so one token
   * that every class on NSS shares in turn.
   */
  NSS;

  /** The system property that narrows a run. */
  public static final String PROPERTY = "kmsgw.test.tokens";

  /** A fresh token for one test class on this implementation (on NSS: the JVM's one database, see {@link #NSS}). */
  public TestToken newToken(String name) {
    return this == NSS ? NssTestDatabase.token() : TestToken.create(name);
  }

  /**
   * Whether a test can add tokens while the library is loaded. SoftHSM2 initialises a new token on its free slot;
   * NSS's softoken has one key token per database, and its databases are fixed when the library is initialised.
   */
  public boolean createsTokensAtRunTime() {
    return this == SOFTHSM2;
  }

  /** The vendor profile a gateway on this implementation uses (its tag-mismatch code, session-object copies). */
  public VendorProfile profile() {
    return VendorProfile.parse(name());
  }

  /** The kinds this run covers, in declaration order. */
  public static List<TokenKind> selected() {
    String value = System.getProperty(PROPERTY, "");
    if (value.isBlank()) {
      return List.of(values());
    }
    List<TokenKind> kinds = new ArrayList<>();
    for (String name : value.split(",")) {
      String n = name.strip().toUpperCase(Locale.ROOT);
      if (n.isEmpty()) {
        continue;
      }
      try {
        TokenKind k = valueOf(n);
        if (!kinds.contains(k)) {
          kinds.add(k);
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": unknown token kind '" + name.strip()
            + "' (softhsm2, nss)", e);
      }
    }
    kinds.sort(null);
    return kinds;
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
