package io.kmsgw.hsm.pkcs11;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How to reach one token through a PKCS#11 library.
 *
 * @param pin supplies a fresh copy of the crypto user's PIN each time it is needed; the copy is wiped after
 *     {@code C_Login}
 * @param generalErrorMeansBadTag the vendor answers a failed GCM tag check with CKR_GENERAL_ERROR (SoftHSM2)
 * @param sessionKeyCopies run crypto on session-object copies of the token keys (see {@code KeyHandles})
 * @param minHsms tokens that must carry the label; more than one is accepted only when this is above one (the
 *     members of a cluster the vendor's library replicates)
 * @param gcmIvFromHsm the token generates AES-GCM IVs itself ({@code hsm.capabilities.gcm_iv_from_hsm})
 * @param initArgs the library's parameter string for {@code C_Initialize}'s {@code pReserved} ({@code init_args}),
 *     or null for none
 */
public record Pkcs11Options(
    String library,
    String tokenLabel,
    Supplier<char[]> pin,
    int poolSize,
    Duration borrowTimeout,
    Duration validateAfterIdle,
    boolean generalErrorMeansBadTag,
    boolean sessionKeyCopies,
    int minHsms,
    boolean gcmIvFromHsm,
    String initArgs) {

  /** A token that takes the caller's GCM IVs. */
  public Pkcs11Options(String library, String tokenLabel, Supplier<char[]> pin, int poolSize, Duration borrowTimeout,
      Duration validateAfterIdle, boolean generalErrorMeansBadTag, boolean sessionKeyCopies, int minHsms) {
    this(library, tokenLabel, pin, poolSize, borrowTimeout, validateAfterIdle, generalErrorMeansBadTag,
        sessionKeyCopies, minHsms, false, null);
  }

  /** A library initialised without parameters. */
  public Pkcs11Options(String library, String tokenLabel, Supplier<char[]> pin, int poolSize, Duration borrowTimeout,
      Duration validateAfterIdle, boolean generalErrorMeansBadTag, boolean sessionKeyCopies, int minHsms,
      boolean gcmIvFromHsm) {
    this(library, tokenLabel, pin, poolSize, borrowTimeout, validateAfterIdle, generalErrorMeansBadTag,
        sessionKeyCopies, minHsms, gcmIvFromHsm, null);
  }

  /** These options with the library's {@code C_Initialize} parameter string (null for none). */
  public Pkcs11Options withInitArgs(String args) {
    return new Pkcs11Options(library, tokenLabel, pin, poolSize, borrowTimeout, validateAfterIdle,
        generalErrorMeansBadTag, sessionKeyCopies, minHsms, gcmIvFromHsm, args);
  }

  public Pkcs11Options {
    Objects.requireNonNull(library);
    Objects.requireNonNull(tokenLabel);
    Objects.requireNonNull(pin);
    Objects.requireNonNull(borrowTimeout);
    Objects.requireNonNull(validateAfterIdle);
  }

  @Override
  public String toString() {
    return "Pkcs11Options[library=" + library + ", token=" + tokenLabel + ", pool=" + poolSize
        + (gcmIvFromHsm ? ", HSM-generated GCM IVs" : "") + "]";
  }
}
