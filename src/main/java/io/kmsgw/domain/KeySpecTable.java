package io.kmsgw.domain;

import io.kmsgw.domain.Algorithms.Encryption;
import io.kmsgw.domain.Algorithms.KeyAgreement;
import io.kmsgw.domain.Algorithms.Mac;
import io.kmsgw.domain.Algorithms.Signing;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The one table of key types: which usages each {@link KeySpec} takes, and the algorithms of each pair, as the AWS
 * KMS Developer Guide's key spec reference pairs them (the enums of {@code kms-service-2.json}). DescribeKey's
 * algorithm lists, CreateKey's compatibility check and the grant operations read it.
 *
 * <p>Also here: the specs and algorithms kmsgw refuses whatever the token, with the reason
 * ({@link #refusal(KeySpec)}, {@link #refusal(Signing)}).
 */
public final class KeySpecTable {
  /**
   * One compatible (spec, usage) pair and its algorithms; only the list of the usage's kind is non-empty.
   */
  public record Row(KeySpec spec, KeyUsage usage, List<Encryption> encryption, List<Signing> signing,
      List<Mac> mac, List<KeyAgreement> keyAgreement) {
    public Row {
      encryption = List.copyOf(encryption);
      signing = List.copyOf(signing);
      mac = List.copyOf(mac);
      keyAgreement = List.copyOf(keyAgreement);
    }
  }

  private static final Map<KeySpec, Map<KeyUsage, Row>> ROWS = new EnumMap<>(KeySpec.class);

  static {
    add(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, List.of(Encryption.SYMMETRIC_DEFAULT));
    for (KeySpec rsa : List.of(KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096)) {
      add(rsa, KeyUsage.ENCRYPT_DECRYPT, List.of(Encryption.RSAES_OAEP_SHA_1, Encryption.RSAES_OAEP_SHA_256));
      add(rsa, KeyUsage.SIGN_VERIFY, List.of(Signing.RSASSA_PSS_SHA_256, Signing.RSASSA_PSS_SHA_384,
          Signing.RSASSA_PSS_SHA_512, Signing.RSASSA_PKCS1_V1_5_SHA_256, Signing.RSASSA_PKCS1_V1_5_SHA_384,
          Signing.RSASSA_PKCS1_V1_5_SHA_512));
    }
    // each NIST curve signs with the hash of its size; key agreement on NIST curves (and SM2) only
    add(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY, List.of(Signing.ECDSA_SHA_256));
    add(KeySpec.ECC_NIST_P384, KeyUsage.SIGN_VERIFY, List.of(Signing.ECDSA_SHA_384));
    add(KeySpec.ECC_NIST_P521, KeyUsage.SIGN_VERIFY, List.of(Signing.ECDSA_SHA_512));
    for (KeySpec nist : List.of(KeySpec.ECC_NIST_P256, KeySpec.ECC_NIST_P384, KeySpec.ECC_NIST_P521)) {
      add(nist, KeyUsage.KEY_AGREEMENT, List.of(KeyAgreement.ECDH));
    }
    add(KeySpec.ECC_SECG_P256K1, KeyUsage.SIGN_VERIFY, List.of(Signing.ECDSA_SHA_256));
    add(KeySpec.ECC_NIST_EDWARDS25519, KeyUsage.SIGN_VERIFY,
        List.of(Signing.ED25519_SHA_512, Signing.ED25519_PH_SHA_512));
    add(KeySpec.HMAC_224, KeyUsage.GENERATE_VERIFY_MAC, List.of(Mac.HMAC_SHA_224));
    add(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC, List.of(Mac.HMAC_SHA_256));
    add(KeySpec.HMAC_384, KeyUsage.GENERATE_VERIFY_MAC, List.of(Mac.HMAC_SHA_384));
    add(KeySpec.HMAC_512, KeyUsage.GENERATE_VERIFY_MAC, List.of(Mac.HMAC_SHA_512));
    add(KeySpec.SM2, KeyUsage.SIGN_VERIFY, List.of(Signing.SM2DSA));
    add(KeySpec.SM2, KeyUsage.ENCRYPT_DECRYPT, List.of(Encryption.SM2PKE));
    add(KeySpec.SM2, KeyUsage.KEY_AGREEMENT, List.of(KeyAgreement.ECDH));
    for (KeySpec mlDsa : List.of(KeySpec.ML_DSA_44, KeySpec.ML_DSA_65, KeySpec.ML_DSA_87)) {
      add(mlDsa, KeyUsage.SIGN_VERIFY, List.of(Signing.ML_DSA_SHAKE_256));
    }
  }

  private KeySpecTable() {}

  private static void add(KeySpec spec, KeyUsage usage, List<? extends Enum<?>> algorithms) {
    List<Encryption> enc = new ArrayList<>();
    List<Signing> sign = new ArrayList<>();
    List<Mac> mac = new ArrayList<>();
    List<KeyAgreement> agree = new ArrayList<>();
    for (Enum<?> a : algorithms) {
      if (a instanceof Encryption e) {
        enc.add(e);
      } else if (a instanceof Signing s) {
        sign.add(s);
      } else if (a instanceof Mac m) {
        mac.add(m);
      } else {
        agree.add((KeyAgreement) a);
      }
    }
    ROWS.computeIfAbsent(spec, s -> new EnumMap<>(KeyUsage.class))
        .put(usage, new Row(spec, usage, enc, sign, mac, agree));
  }

  /** The row of a compatible pair; empty when AWS does not allow the usage for the spec. */
  public static Optional<Row> row(KeySpec spec, KeyUsage usage) {
    return Optional.ofNullable(ROWS.getOrDefault(spec, Map.of()).get(usage));
  }

  /** The usages a spec takes, in the model's order. */
  public static List<KeyUsage> usages(KeySpec spec) {
    return List.copyOf(ROWS.getOrDefault(spec, Map.of()).keySet());
  }

  /** Every row, by spec then usage. */
  public static List<Row> rows() {
    return ROWS.values().stream().flatMap(m -> m.values().stream()).collect(Collectors.toUnmodifiableList());
  }

  /**
   * Why kmsgw refuses a spec whatever the token, or empty: SM2 and ML-DSA have no mechanism on the PKCS#11 tokens
   * kmsgw supports.
   */
  public static Optional<String> refusal(KeySpec spec) {
    return switch (spec.family()) {
      case SM2 -> Optional.of("KeySpec SM2 is not supported: PKCS#11 defines no SM2 mechanism, and none of the "
          + "tokens kmsgw supports offers one.");
      case ML_DSA -> Optional.of("KeySpec " + spec + " is not supported: none of the PKCS#11 tokens kmsgw supports "
          + "(SoftHSM2 2.6.1, NSS 3.87, and the HSMs of docs/hsm-vendors.md) offers an ML-DSA mechanism.");
      default -> Optional.empty();
    };
  }

  /**
   * Why kmsgw refuses a signing algorithm of the table whatever the token, or empty: ED25519_PH_SHA_512 (HashEdDSA)
   * needs {@code CK_EDDSA_PARAMS} with {@code phFlag}, which no token and wrapper kmsgw supports can pass. Sign and
   * Verify answer UnsupportedOperationException with this reason; DescribeKey and GetPublicKey leave the algorithm
   * out of {@code SigningAlgorithms}, which lists what the key can do.
   */
  public static Optional<String> refusal(Signing algorithm) {
    if (algorithm == Signing.ED25519_PH_SHA_512) {
      return Optional.of("ED25519_PH_SHA_512 is not supported by kmsgw: it needs CKM_EDDSA with CK_EDDSA_PARAMS "
          + "(phFlag), which kmsgw's PKCS#11 wrapper cannot pass and SoftHSM2 ignores (see docs/key-types.md). Use "
          + "ED25519_SHA_512.");
    }
    return Optional.empty();
  }
}
