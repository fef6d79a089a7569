package io.kmsgw.domain;

/**
 * The type of a KMS key ({@code KeySpec} in the KMS model). Which usages and algorithms each one takes is
 * {@link KeySpecTable}'s.
 */
public enum KeySpec {
  SYMMETRIC_DEFAULT(Family.AES, 256),
  RSA_2048(Family.RSA, 2048),
  RSA_3072(Family.RSA, 3072),
  RSA_4096(Family.RSA, 4096),
  ECC_NIST_P256(Family.EC, 256),
  ECC_NIST_P384(Family.EC, 384),
  ECC_NIST_P521(Family.EC, 521),
  ECC_SECG_P256K1(Family.EC, 256),
  ECC_NIST_EDWARDS25519(Family.EDWARDS, 255),
  HMAC_224(Family.HMAC, 224),
  HMAC_256(Family.HMAC, 256),
  HMAC_384(Family.HMAC, 384),
  HMAC_512(Family.HMAC, 512),
  SM2(Family.SM2, 256),
  ML_DSA_44(Family.ML_DSA, 0),
  ML_DSA_65(Family.ML_DSA, 0),
  ML_DSA_87(Family.ML_DSA, 0);

  /** The kind of key material, which decides the HSM objects a key of the spec has. */
  public enum Family {
    /** One AES-256 secret key. */
    AES,
    /** An RSA key pair. */
    RSA,
    /** A Weierstrass-curve key pair. */
    EC,
    /** An Edwards-curve key pair. */
    EDWARDS,
    /** One generic secret key for HMAC. */
    HMAC,
    /** China's SM2 curve. */
    SM2,
    /** A module-lattice (FIPS 204) key pair. */
    ML_DSA
  }

  private final Family family;
  private final int bits;

  KeySpec(Family family, int bits) {
    this.family = family;
    this.bits = bits;
  }

  public Family family() {
    return family;
  }

  /** The modulus, curve or key size in bits; 0 where none applies. */
  public int bits() {
    return bits;
  }

  /** Whether a key of this spec is a key pair (GetPublicKey applies). */
  public boolean asymmetric() {
    return family != Family.AES && family != Family.HMAC;
  }

  /**
   * Whether the deprecated {@code CustomerMasterKeySpec} has this value (the model's {@code CustomerMasterKeySpec}
   * enum: every spec but the Edwards and ML-DSA ones, which came after its deprecation).
   */
  public boolean hasCustomerMasterKeySpec() {
    return family != Family.EDWARDS && family != Family.ML_DSA;
  }
}
