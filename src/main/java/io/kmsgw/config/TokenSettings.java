package io.kmsgw.config;

/**
 * What the configuration says about reaching one HSM token, whether it backs the default key store ({@code hsm:},
 * {@link GatewayConfig.Hsm}) or a custom key store's cluster ({@code clusters:}, {@link HsmDefinition}): the one
 * shape an {@code HsmConnectorFactory} reads, so both kinds of store get their connector the same way.
 */
public interface TokenSettings {
  VendorProfile vendor();

  /** The vendor's PKCS#11 library. */
  String library();

  String tokenLabel();

  /** Sessions (and HSM worker threads). */
  int poolSize();

  long borrowTimeoutMs();

  /** How long one HSM call may run before its request is answered without it ({@code pool.call_timeout_ms}). */
  long callTimeoutMs();

  long validateAfterIdleMs();

  /** The vendor answers a failed GCM tag check with CKR_GENERAL_ERROR. */
  boolean gcmGeneralErrorOnTagMismatch();

  /** Crypto runs on session-object copies of the token keys. */
  boolean sessionKeyCopies();

  /** The HSM generates AES-GCM IVs itself ({@code gcm_iv_from_hsm}). */
  default boolean gcmIvFromHsm() {
    return false;
  }

  /**
   * The library's parameter string, passed in {@code C_Initialize}'s {@code pReserved} ({@code init_args}, with
   * {@code {data_dir}} replaced), or null for none.
   */
  default String initArgs() {
    return null;
  }

  /** Tokens that must answer with the label; the default key store's HSM is always one token. */
  default int minHsms() {
    return 1;
  }
}
