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
    ED25519_PH_SHA_512;

    /**
     * The JDK name of the hash the algorithm signs ({@code SHA-256}, ...), by the suffix of its name as the model's
     * MessageType documentation says; null for SM2DSA (SM3) and ML-DSA (SHAKE-256), which kmsgw does not run.
     */
    public String hash() {
      return switch (this) {
        case RSASSA_PSS_SHA_256, RSASSA_PKCS1_V1_5_SHA_256, ECDSA_SHA_256 -> "SHA-256";
        case RSASSA_PSS_SHA_384, RSASSA_PKCS1_V1_5_SHA_384, ECDSA_SHA_384 -> "SHA-384";
        case RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_512, ED25519_SHA_512, ED25519_PH_SHA_512 ->
            "SHA-512";
        case SM2DSA, ML_DSA_SHAKE_256 -> null;
      };
    }

    /** The length in bytes of the algorithm's hash: what a DIGEST message must have. */
    public int digestLength() {
      String h = hash();
      return h == null ? 0 : Integer.parseInt(h.substring(4)) / 8;
    }
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
