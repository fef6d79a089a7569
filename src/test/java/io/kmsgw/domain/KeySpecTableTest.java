package io.kmsgw.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.domain.Algorithms.Encryption;
import io.kmsgw.domain.Algorithms.KeyAgreement;
import io.kmsgw.domain.Algorithms.Mac;
import io.kmsgw.domain.Algorithms.Signing;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The domain's enums and the key type table against the KMS model the API layer validates requests with. */
class KeySpecTableTest {
  private static final ServiceModel MODEL = ServiceModel.kms();

  private static Set<String> names(Class<? extends Enum<?>> type) {
    return Arrays.stream(type.getEnumConstants()).map(Enum::name).collect(Collectors.toSet());
  }

  private static Set<String> model(String shape) {
    return Set.copyOf(MODEL.shape(shape).enumValues());
  }

  @Test
  void everyEnumHoldsExactlyTheModelsValues() {
    assertEquals(model("KeySpec"), names(KeySpec.class));
    assertEquals(model("KeyUsageType"), names(KeyUsage.class));
    assertEquals(model("OriginType"), names(Origin.class));
    assertEquals(model("EncryptionAlgorithmSpec"), names(Encryption.class));
    assertEquals(model("SigningAlgorithmSpec"), names(Signing.class));
    assertEquals(model("MacAlgorithmSpec"), names(Mac.class));
    assertEquals(model("KeyAgreementAlgorithmSpec"), names(KeyAgreement.class));
  }

  @Test
  void customerMasterKeySpec_isTheModelsDeprecatedEnum() {
    Set<String> cmk = Arrays.stream(KeySpec.values()).filter(KeySpec::hasCustomerMasterKeySpec).map(Enum::name)
        .collect(Collectors.toSet());
    assertEquals(model("CustomerMasterKeySpec"), cmk);
  }

  @Test
  void everySpecHasAUsage_andEveryAlgorithmBelongsToSomeRow() {
    for (KeySpec spec : KeySpec.values()) {
      assertFalse(KeySpecTable.usages(spec).isEmpty(), spec.name());
    }
    Set<Enum<?>> used = KeySpecTable.rows().stream().flatMap(r -> java.util.stream.Stream.of(r.encryption(),
        r.signing(), r.mac(), r.keyAgreement()).flatMap(List::stream)).collect(Collectors.toSet());
    for (Class<? extends Enum<?>> type : List.of(Encryption.class, Signing.class, Mac.class, KeyAgreement.class)) {
      for (Enum<?> a : type.getEnumConstants()) {
        assertTrue(used.contains(a), a + " is in no row");
      }
    }
  }

  @Test
  void eachRow_listsOnlyTheAlgorithmsOfItsUsage() {
    for (KeySpecTable.Row r : KeySpecTable.rows()) {
      assertEquals(r.usage() == KeyUsage.ENCRYPT_DECRYPT, !r.encryption().isEmpty(), r.toString());
      assertEquals(r.usage() == KeyUsage.SIGN_VERIFY, !r.signing().isEmpty(), r.toString());
      assertEquals(r.usage() == KeyUsage.GENERATE_VERIFY_MAC, !r.mac().isEmpty(), r.toString());
      assertEquals(r.usage() == KeyUsage.KEY_AGREEMENT, !r.keyAgreement().isEmpty(), r.toString());
    }
  }

  @Test
  void awsPairings() {
    // AWS Developer Guide, key spec reference: the curve's own hash for ECDSA; key agreement on NIST curves only
    assertEquals(List.of(Signing.ECDSA_SHA_384),
        KeySpecTable.row(KeySpec.ECC_NIST_P384, KeyUsage.SIGN_VERIFY).orElseThrow().signing());
    assertEquals(List.of(KeyUsage.SIGN_VERIFY), KeySpecTable.usages(KeySpec.ECC_SECG_P256K1));
    assertEquals(List.of(KeyUsage.SIGN_VERIFY, KeyUsage.KEY_AGREEMENT), KeySpecTable.usages(KeySpec.ECC_NIST_P521));
    assertEquals(List.of(KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY), KeySpecTable.usages(KeySpec.RSA_3072));
    assertEquals(List.of(Encryption.RSAES_OAEP_SHA_1, Encryption.RSAES_OAEP_SHA_256),
        KeySpecTable.row(KeySpec.RSA_4096, KeyUsage.ENCRYPT_DECRYPT).orElseThrow().encryption());
    assertEquals(List.of(Mac.HMAC_SHA_224),
        KeySpecTable.row(KeySpec.HMAC_224, KeyUsage.GENERATE_VERIFY_MAC).orElseThrow().mac());
    assertTrue(KeySpecTable.row(KeySpec.HMAC_256, KeyUsage.ENCRYPT_DECRYPT).isEmpty());
    assertTrue(KeySpecTable.row(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.SIGN_VERIFY).isEmpty());
  }

  @Test
  void sm2AndMlDsa_areRefusedWithTheReason_andNothingElseIs() {
    Set<KeySpec> refused = EnumSet.noneOf(KeySpec.class);
    for (KeySpec spec : KeySpec.values()) {
      KeySpecTable.refusal(spec).ifPresent(why -> {
        assertTrue(why.contains("PKCS#11"), why);
        refused.add(spec);
      });
    }
    assertEquals(EnumSet.of(KeySpec.SM2, KeySpec.ML_DSA_44, KeySpec.ML_DSA_65, KeySpec.ML_DSA_87), refused);
  }
}
