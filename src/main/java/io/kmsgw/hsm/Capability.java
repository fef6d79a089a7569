package io.kmsgw.hsm;

import java.util.ArrayList;
import java.util.List;

/**
 * What a key store can do, each as one PKCS#11 mechanism and the {@code CKF_} flags its {@code C_GetMechanismInfo}
 * must show (PKCS#11 v2.40 §5.10 and v3.0 §6): the things the key specs and algorithms of the gateway ask of a token.
 * The numbers are the standard's; the PKCS#11 adapter discovers which a token offers ({@link TokenMechanisms}).
 */
public enum Capability {
  AES_KEY_GEN("AES key generation", 0x1080, Flag.GENERATE),
  AES_GCM("AES-GCM", 0x1087, Flag.ENCRYPT | Flag.DECRYPT),
  AES_KEY_WRAP("AES key wrap (RFC 3394)", 0x2109, Flag.UNWRAP),
  AES_KEY_WRAP_PAD("AES key wrap with padding (RFC 5649)", 0x210A, Flag.UNWRAP),
  GENERIC_SECRET_KEY_GEN("generic secret key generation (HMAC keys)", 0x350, Flag.GENERATE),
  HMAC_SHA224("HMAC-SHA-224", 0x256, Flag.SIGN | Flag.VERIFY),
  HMAC_SHA256("HMAC-SHA-256", 0x251, Flag.SIGN | Flag.VERIFY),
  HMAC_SHA384("HMAC-SHA-384", 0x261, Flag.SIGN | Flag.VERIFY),
  HMAC_SHA512("HMAC-SHA-512", 0x271, Flag.SIGN | Flag.VERIFY),
  RSA_KEY_GEN("RSA key pair generation", 0x0, Flag.GENERATE_KEY_PAIR),
  RSA_PKCS1_SIGN("RSA PKCS#1 v1.5 signing", 0x1, Flag.SIGN),
  RSA_PSS("RSA-PSS signing", 0xD, Flag.SIGN),
  RSA_OAEP("RSA-OAEP decryption", 0x9, Flag.DECRYPT),
  RSA_X_509("raw RSA decryption (X.509)", 0x3, Flag.DECRYPT),
  RSA_AES_KEY_WRAP("RSA-AES key wrap", 0x1054, Flag.UNWRAP),
  EC_KEY_GEN("EC key pair generation", 0x1040, Flag.GENERATE_KEY_PAIR),
  ECDSA("ECDSA over a digest", 0x1041, Flag.SIGN),
  ECDSA_SHA256("ECDSA with SHA-256 in the HSM", 0x1044, Flag.SIGN),
  ECDSA_SHA384("ECDSA with SHA-384 in the HSM", 0x1045, Flag.SIGN),
  ECDSA_SHA512("ECDSA with SHA-512 in the HSM", 0x1046, Flag.SIGN),
  ECDH("ECDH key agreement", 0x1050, Flag.DERIVE),
  EDWARDS_KEY_GEN("Edwards-curve key pair generation", 0x1055, Flag.GENERATE_KEY_PAIR),
  EDDSA("EdDSA signing", 0x1057, Flag.SIGN);

  /** The {@code CKF_} bits of {@code CK_MECHANISM_INFO.flags} that matter here. */
  public static final class Flag {
    public static final long ENCRYPT = 0x100;
    public static final long DECRYPT = 0x200;
    public static final long DIGEST = 0x400;
    public static final long SIGN = 0x800;
    public static final long VERIFY = 0x2000;
    public static final long GENERATE = 0x8000;
    public static final long GENERATE_KEY_PAIR = 0x10000;
    public static final long WRAP = 0x20000;
    public static final long UNWRAP = 0x40000;
    public static final long DERIVE = 0x80000;

    private Flag() {}

    /** The flags' names, lower case ({@code encrypt}, {@code sign}, ...), as pkcs11-tool prints them. */
    public static List<String> names(long flags) {
      List<String> out = new ArrayList<>();
      String[] names = {"encrypt", "decrypt", "digest", "sign", "verify", "generate", "generate_key_pair", "wrap",
          "unwrap", "derive"};
      long[] bits = {ENCRYPT, DECRYPT, DIGEST, SIGN, VERIFY, GENERATE, GENERATE_KEY_PAIR, WRAP, UNWRAP, DERIVE};
      for (int i = 0; i < bits.length; i++) {
        if ((flags & bits[i]) != 0) {
          out.add(names[i]);
        }
      }
      return out;
    }
  }

  private final String description;
  private final long mechanism;
  private final long flags;

  Capability(String description, long mechanism, long flags) {
    this.description = description;
    this.mechanism = mechanism;
    this.flags = flags;
  }

  public String description() {
    return description;
  }

  /** The {@code CKM_} number. */
  public long mechanism() {
    return mechanism;
  }

  /** The {@code CKF_} bits the mechanism's info must have. */
  public long requiredFlags() {
    return flags;
  }

  /** {@code CKM_AES_GCM (0x1087) with encrypt, decrypt}: what an operator looks for in {@code pkcs11-tool -M}. */
  public String requirement() {
    return description + ": mechanism 0x" + Long.toHexString(mechanism).toUpperCase(java.util.Locale.ROOT)
        + " with " + String.join(", ", Flag.names(flags));
  }
}
