package io.kmsgw.kms;

import static io.kmsgw.testing.Eventually.eventually;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.PinSealer;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A custom key store whose password was sealed by a default key store in HSM-IV mode (the test module in CloudHSM
 * mode): the seal is version 2, PinSealer opens it, and the store logs in with CloudHSM's {@code user:password} PIN
 * and connects. Before commit 04671c6 PinSealer refused version-2 seals as damaged, so such a store never connected.
 */
class HsmIvCustomKeyStoreTest {
  private static final String CLUSTER = "cluster-hsmivstoretwo";
  private static final String PASSWORD = "kmsuser:" + TestToken.USER_PIN;
  private static TestPkcs11Module module;
  private static KmsFixture kms;
  private static CustomKeyStoreFixture stores;
  private static CustomKeyStoreService service;

  /** CloudHSM's profile: the HSM's IVs, no session-object copies, the standard tag-mismatch code. */
  private static Pkcs11Options cloudHsm(String library, String label, java.util.function.Supplier<char[]> pin) {
    return new Pkcs11Options(library, label, pin, 2, Duration.ofSeconds(2), Duration.ofSeconds(10), false, false, 1,
        true);
  }

  @BeforeAll
  static void start() {
    module = TestPkcs11Module.inThisJvm().reset();
    module.set("vendor=cloudhsm");
    String library = TestPkcs11Module.library().toString();
    TestToken defaultToken = TestToken.create("hsmiv-cks-default", library);
    String storeLabel = TestToken.create("hsmiv-cks-two", library).label();
    String defaultPin = "crypto-user:" + TestToken.USER_PIN;
    kms = new KmsFixture(defaultToken, TestToken.scratch("hsmiv-cks"),
        cloudHsm(library, defaultToken.label(), defaultPin::toCharArray));
    stores = new CustomKeyStoreFixture(kms, java.util.Set.of(CLUSTER),
        (clusterId, pin) -> cloudHsm(library, storeLabel, pin));
    service = stores.service;
  }

  @AfterAll
  static void stop() {
    kms.close();
    stores.close();
    module.reset();
  }

  @Test
  void pinSealer_opensAVersion2Seal_madeWithTheHsmsIv_andOnlyForItsKeyStore() {
    PinSealer sealer = new PinSealer(kms.stores);
    byte[] sealed = sealer.seal("cks-00000000000000001", PASSWORD.toCharArray());
    assertEquals(2, sealed[0], "version 2: sealed with the IV the HSM wrote");
    assertArrayEquals(PASSWORD.toCharArray(), sealer.unseal("cks-00000000000000001", sealed));
    assertThrows(KmsException.class, () -> sealer.unseal("cks-00000000000000002", sealed),
        "the key store id is the additional data");
  }

  @Test
  void customKeyStore_createdOnAnHsmIvDefaultStore_connectsWithItsSealedPassword_andSealsWithItsHsmsIv()
      throws Exception {
    String anchor;
    try (var in = getClass().getResourceAsStream("/dev/trust-anchor.pem")) {
      anchor = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
    CustomKeyStore store = await(service.create(ROOT, "hsm-iv-two", CLUSTER, anchor, PASSWORD.toCharArray(),
        "AWS_CLOUDHSM"));
    assertEquals(2, store.sealedPin()[0], "the password's seal was made with the default store's HSM IV");
    module.clearEvents();
    await(service.connect(ROOT, store.id()));
    eventually(store.id() + " is CONNECTED",
        () -> kms.stores.of(store.id()).status().state() == KeyStoreConnection.State.CONNECTED);
    assertEquals(1, module.events("login user=kmsuser rv=CKR_OK").size(), module.events().toString());

    KeyRecord key = await(kms.keys.createKey(ROOT, new KeyService.NewKey("in the HSM-IV store",
        KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_CLOUDHSM, List.of(), store.id(), false)));
    byte[] plaintext = "kept in the second CloudHSM-mode token".getBytes(StandardCharsets.UTF_8);
    byte[] blob = await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, Map.of(), null, false)).ciphertextBlob();
    assertEquals(2, blob[0], "the custom key store's HSM chose the IV too");
    assertArrayEquals(plaintext, await(kms.crypto.decrypt(ROOT, blob, null, Map.of(), null, false, false))
        .plaintext());

    // a data key pair under the custom store's CMK (AWS allows only the default store): sealed the same way
    DataKeyPairService.Result pair = await(new DataKeyPairService(kms.crypto, Runnable::run).generate(ROOT,
        DataKeyPairService.WITHOUT_PLAINTEXT, key.keyId(), "ECC_NIST_P256", Map.of("pair", "cks"), false));
    assertEquals(2, pair.privateKeyCiphertextBlob()[0], "the private key sealed with the store's HSM IV");
    byte[] pkcs8 = await(kms.crypto.decrypt(ROOT, pair.privateKeyCiphertextBlob(), null, Map.of("pair", "cks"), null,
        false, false)).plaintext();
    java.security.KeyFactory ec = java.security.KeyFactory.getInstance("EC");
    java.security.Signature signer = java.security.Signature.getInstance("SHA256withECDSA");
    signer.initSign(ec.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8)));
    signer.update(plaintext);
    byte[] signature = signer.sign();
    signer.initVerify(ec.generatePublic(new java.security.spec.X509EncodedKeySpec(pair.publicKey())));
    signer.update(plaintext);
    assertTrue(signer.verify(signature), "the sealed private key is the public key's");
    await(service.disconnect(ROOT, store.id()));
  }
}
