package io.kmsgw.config;

/**
 * One HSM a custom key store can use, under an id in AWS's cluster-id form ({@code cluster-...}). A real cluster is
 * reached through its vendor's PKCS#11 library, which replicates and balances across its HSMs; the gateway does
 * not copy keys between HSMs.
 *
 * @param minHsms fewer tokens than this visible with the label is {@code INSUFFICIENT_CLOUDHSM_HSMS}
 * @param autoReconnect retry a failed connection with backoff instead of waiting for Disconnect then Connect
 * @param gcmIvFromHsm the HSM writes its own AES-GCM IV into the parameters ({@code capabilities.gcm_iv_from_hsm},
 *     by default the vendor's profile), as for the default key store's {@code hsm.capabilities.gcm_iv_from_hsm}
 * @param devToken the development profile's own SoftHSM2 token, created under the data directory
 * @param initArgs the library's {@code C_Initialize} parameter string ({@code init_args}), or null for none
 */
public record HsmDefinition(
    String id,
    VendorProfile vendor,
    String library,
    String tokenLabel,
    int poolSize,
    long borrowTimeoutMs,
    long callTimeoutMs,
    long validateAfterIdleMs,
    int minHsms,
    boolean autoReconnect,
    boolean gcmIvFromHsm,
    boolean gcmGeneralErrorOnTagMismatch,
    boolean sessionKeyCopies,
    boolean devToken,
    String initArgs) implements TokenSettings {

  /** AWS's CloudHsmClusterIdType pattern. */
  public static final String ID_PATTERN = "cluster-[2-7a-zA-Z]{11,16}";
}
