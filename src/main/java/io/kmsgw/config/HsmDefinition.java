package io.kmsgw.config;

/**
 * One HSM a custom key store can use, under an id in AWS's cluster-id form ({@code cluster-...}). A real cluster is
 * reached through its vendor's PKCS#11 library, which replicates and balances across its HSMs; the gateway does
 * not copy keys between HSMs.
 *
 * @param minHsms fewer tokens than this visible with the label is {@code INSUFFICIENT_CLOUDHSM_HSMS}
 * @param autoReconnect retry a failed connection with backoff instead of waiting for Disconnect then Connect
 * @param devToken the development profile's own SoftHSM2 token, created under the data directory
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
    boolean gcmGeneralErrorOnTagMismatch,
    boolean sessionKeyCopies,
    boolean devToken) implements TokenSettings {

  /** AWS's CloudHsmClusterIdType pattern. */
  public static final String ID_PATTERN = "cluster-[2-7a-zA-Z]{11,16}";
}
