package io.kmsgw.domain;

/** The algorithm names of the KMS model, one enum per kind of operation. */
public final class Algorithms {
  private Algorithms() {}

  /** {@code EncryptionAlgorithmSpec}. */
  public enum Encryption {
    SYMMETRIC_DEFAULT,
    RSAES_OAEP_SHA_1,
    RSAES_OAEP_SHA_256,
    SM2PKE
  }

  /** {@code SigningAlgorithmSpec}. */
  public enum Signing {
    RSASSA_PSS_SHA_256,
    RSASSA_PSS_SHA_384,
    RSASSA_PSS_SHA_512,
    RSASSA_PKCS1_V1_5_SHA_256,
    RSASSA_PKCS1_V1_5_SHA_384,
    RSASSA_PKCS1_V1_5_SHA_512,
    ECDSA_SHA_256,
    ECDSA_SHA_384,
    ECDSA_SHA_512,
    SM2DSA,
    ML_DSA_SHAKE_256,
    ED25519_SHA_512,
    ED25519_PH_SHA_512
  }

  /** {@code MacAlgorithmSpec}. */
  public enum Mac {
    HMAC_SHA_224,
    HMAC_SHA_256,
    HMAC_SHA_384,
    HMAC_SHA_512
  }

  /** {@code KeyAgreementAlgorithmSpec}. */
  public enum KeyAgreement {
    ECDH
  }
}
