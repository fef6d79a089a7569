package io.kmsgw.domain;

/** Where a KMS key's material comes from ({@code OriginType} in the KMS model). */
public enum Origin {
  /** Generated in the default key store's HSM. */
  AWS_KMS,
  /** Imported by the customer. */
  EXTERNAL,
  /** Generated in a custom key store's HSM. */
  AWS_CLOUDHSM,
  /** Held by an external key manager behind an XKS proxy. */
  EXTERNAL_KEY_STORE
}
