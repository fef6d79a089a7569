package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Algorithms;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.store.jdbc.JdbcMetadataStore;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Importing RSA and EC private keys on each token, judged by the JDK: the key pair is the JDK's, its PKCS#8 encoding
 * is wrapped with the JDK's RSA-OAEP and AES/KWP, and then GetPublicKey must give the JDK's own public key, the JDK
 * must verify what Sign made,
 * RSA keys must decrypt what the JDK encrypted with the owner's public key, and ECDH must give the JDK's secret.
 */
@OnEveryToken
class PrivateKeyImportTest {
  private static KmsFixture kms;
  private static ImportService imports;
  private static PublicKeys publicKeys;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "private-import");
    imports = new ImportService(kms.keys, kms.stores, ((JdbcMetadataStore) kms.store).imports(), kms.cache,
        kms.storeExecutor, kms.clock);
    imports.load();
    publicKeys = new PublicKeys(kms.keys, kms.stores);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  /** The RSA-OAEP hash each token can unwrap with: SoftHSM2 2.6.1 has SHA-1 only. */
  private String hash() {
    return kind == TokenKind.SOFTHSM2 ? "SHA-1" : "SHA-256";
  }

  private String rsaAes() {
    return kind == TokenKind.SOFTHSM2 ? "RSA_AES_KEY_WRAP_SHA_1" : "RSA_AES_KEY_WRAP_SHA_256";
  }

  private static KeyRecord external(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("private key import", spec, usage, Origin.EXTERNAL,
        List.of(), null, false)));
  }

  static KeyPair jdkPair(String algorithm, Object parameter) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
    if (parameter instanceof Integer bits) {
      g.initialize(bits);
    } else {
      g.initialize(new ECGenParameterSpec((String) parameter));
    }
    return g.generateKeyPair();
  }

  private KeyRecord importPrivate(KeyRecord key, byte[] pkcs8, String algorithm, String wrappingSpec)
      throws Exception {
    ImportService.Parameters p = await(imports.getParametersForImport(ROOT, key.keyId(), algorithm, wrappingSpec));
    byte[] wrapped = algorithm.startsWith("RSA_AES") ? ImportServiceTest.wrapRsaAes(p.publicKey(), pkcs8, hash())
        : ImportServiceTest.wrap(p.publicKey(), pkcs8, hash());
    return await(imports.importKeyMaterial(ROOT, key.keyId(), new ImportService.Material(p.importToken(), wrapped,
        "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null)));
  }

  private byte[] publicKey(KeyRecord key) {
    return await(publicKeys.getPublicKey(ROOT, key.keyId())).subjectPublicKeyInfo();
  }

  private void signsAsTheJdkVerifies(KeyRecord key, KeyPair own, String kmsAlgorithm, String jdkAlgorithm)
      throws Exception {
    SigningService signing = new SigningService(kms.keys, kms.stores, publicKeys);
    byte[] message = ("imported " + key.keySpec()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] signature = await(signing.sign(ROOT, key.keyId(), message, "RAW", kmsAlgorithm, false)).signature();
    Signature jdk = Signature.getInstance(jdkAlgorithm);
    jdk.initVerify(own.getPublic());
    jdk.update(message);
    assertTrue(jdk.verify(signature), kmsAlgorithm + " signature of the imported key, verified by the JDK");
  }

  private static boolean exists(KeyRecord key) {
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    return !await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.findKeys(object.label()))).isEmpty();
  }

  private static void refused(ErrorCode code, Executable call) {
    Throwable t = assertThrows(Throwable.class, call);
    Throwable cause = t instanceof KmsException ? t : t.getCause();
    assertTrue(cause instanceof KmsException k && k.code() == code, () -> "expected " + code + ", got " + t);
  }

  @Test
  void rsaSigningKey_publicKeyIsTheOwnersAndTheJdkVerifies() throws Exception {
    KeyPair own = jdkPair("RSA", 2048);
    KeyRecord key = external(KeySpec.RSA_2048, KeyUsage.SIGN_VERIFY);
    assertEquals(KeyState.ENABLED, importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_3072").state());
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    signsAsTheJdkVerifies(key, own, "RSASSA_PKCS1_V1_5_SHA_256", "SHA256withRSA");
    // the private half keeps a CMK's custody; the public half is there for GetPublicKey and Verify
    var custody = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
        s -> s.custody(new HsmKey(key.current().hsmLabel(), key.current().hsmId()))));
    assertTrue(custody.sensitive() && !custody.extractable() && custody.token() && custody.privateObject(),
        custody.toString());
  }

  @Test
  void rsaEncryptionKey_decryptsWhatTheJdkEncryptedWithTheOwnersPublicKey() throws Exception {
    KeyPair own = jdkPair("RSA", 3072);
    KeyRecord key = external(KeySpec.RSA_3072, KeyUsage.ENCRYPT_DECRYPT);
    importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_2048");
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    Cipher c = Cipher.getInstance("RSA/ECB/OAEPPadding");
    c.init(Cipher.ENCRYPT_MODE, own.getPublic(), new OAEPParameterSpec("SHA-1", "MGF1", MGF1ParameterSpec.SHA1,
        PSource.PSpecified.DEFAULT));
    byte[] ciphertext = c.doFinal(new byte[] {7, 7, 7});
    assertArrayEquals(new byte[] {7, 7, 7}, await(kms.crypto.decrypt(ROOT, ciphertext, key.keyId(), Map.of(),
        "RSAES_OAEP_SHA_1", false, false)).plaintext());
  }

  @Test
  void ecSigningKeys_onEveryNistCurve_publicPointRecoveredAndTheJdkVerifies() throws Exception {
    String[][] curves = {{"ECC_NIST_P256", "secp256r1", "ECDSA_SHA_256", "SHA256withECDSA"},
        {"ECC_NIST_P384", "secp384r1", "ECDSA_SHA_384", "SHA384withECDSA"},
        {"ECC_NIST_P521", "secp521r1", "ECDSA_SHA_512", "SHA512withECDSA"}};
    for (String[] c : curves) {
      KeyPair own = jdkPair("EC", c[1]);
      KeyRecord key = external(KeySpec.valueOf(c[0]), KeyUsage.SIGN_VERIFY);
      importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_2048");
      assertArrayEquals(own.getPublic().getEncoded(), publicKey(key), c[0]);
      signsAsTheJdkVerifies(key, own, c[2], c[3]);
    }
  }

  @Test
  void secp256k1SigningKey_onSoftHsm2_bouncyCastleVerifies() throws Exception {
    if (kind != TokenKind.SOFTHSM2) {
      return; // NSS's softoken has no secp256k1 (CreateKey refuses the spec there: EveryKeySpecTest)
    }
    java.security.Provider bc = new org.bouncycastle.jce.provider.BouncyCastleProvider();
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", bc);
    g.initialize(new ECGenParameterSpec("secp256k1"));
    KeyPair own = g.generateKeyPair();
    KeyRecord key = external(KeySpec.ECC_SECG_P256K1, KeyUsage.SIGN_VERIFY);
    importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_2048");
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    byte[] message = {1, 2, 3};
    byte[] signature = await(new SigningService(kms.keys, kms.stores, publicKeys).sign(ROOT, key.keyId(), message,
        "RAW", "ECDSA_SHA_256", false)).signature();
    Signature verifier = Signature.getInstance("SHA256withECDSA", bc);
    verifier.initVerify(own.getPublic());
    verifier.update(message);
    assertTrue(verifier.verify(signature));
  }

  @Test
  void ecdhKey_publicKeyIsTheOwnersAndTheSecretIsTheJdks() throws Exception {
    KeyPair own = jdkPair("EC", "secp384r1");
    KeyRecord key = external(KeySpec.ECC_NIST_P384, KeyUsage.KEY_AGREEMENT);
    importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_4096");
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    KeyPair peer = jdkPair("EC", "secp384r1");
    KeyAgreement jdk = KeyAgreement.getInstance("ECDH");
    jdk.init(own.getPrivate());
    jdk.doPhase(peer.getPublic(), true);
    byte[] secret = await(new AgreementService(kms.keys, kms.stores).deriveSharedSecret(ROOT, key.keyId(),
        Algorithms.KeyAgreement.ECDH, peer.getPublic().getEncoded(), false)).secret();
    assertArrayEquals(jdk.generateSecret(), secret);
  }

  @Test
  void wrongCurveSizeOrType_andNoPkcs8_areRefused_andNothingIsKept() throws Exception {
    KeyRecord p256 = external(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(p256,
        jdkPair("EC", "secp384r1").getPrivate().getEncoded(), rsaAes(), "RSA_2048"));
    KeyRecord rsa = external(KeySpec.RSA_2048, KeyUsage.SIGN_VERIFY);
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(rsa,
        jdkPair("RSA", 3072).getPrivate().getEncoded(), rsaAes(), "RSA_2048"));
    // an EC key into an RSA key, and bytes that are no PKCS#8: unwrapped, but the token makes no key of them
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(rsa,
        jdkPair("EC", "secp256r1").getPrivate().getEncoded(), rsaAes(), "RSA_2048"));
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(p256, random(120), rsaAes(), "RSA_2048"));
    // a changed byte in the RFC 5649 part: the unwrap itself fails
    ImportService.Parameters p = await(imports.getParametersForImport(ROOT, p256.keyId(), rsaAes(), "RSA_2048"));
    byte[] tampered = ImportServiceTest.wrapRsaAes(p.publicKey(),
        jdkPair("EC", "secp256r1").getPrivate().getEncoded(), hash());
    tampered[tampered.length - 5] ^= 1;
    refused(ErrorCode.INVALID_CIPHERTEXT, () -> await(imports.importKeyMaterial(ROOT, p256.keyId(),
        new ImportService.Material(p.importToken(), tampered, "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null))));
    for (KeyRecord k : List.of(p256, rsa)) {
      assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(k.keyId())).state());
      assertFalse(exists(k), "no object is left for " + k.keySpec());
    }
  }

  private static byte[] random(int length) {
    byte[] b = new byte[length];
    new java.security.SecureRandom().nextBytes(b);
    return b;
  }

  @Test
  void reimport_onlyTheSameKey_andOaepRulesAsAws() throws Exception {
    KeyPair own = jdkPair("EC", "secp256r1");
    KeyRecord key = external(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_2048");
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(key,
        jdkPair("EC", "secp256r1").getPrivate().getEncoded(), rsaAes(), "RSA_2048"));
    await(imports.deleteImportedKeyMaterial(ROOT, key.keyId(), null));
    assertFalse(exists(key));
    refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> importPrivate(key,
        jdkPair("EC", "secp256r1").getPrivate().getEncoded(), rsaAes(), "RSA_2048"));
    assertFalse(exists(key), "a refused re-import leaves no object");
    importPrivate(key, own.getPrivate().getEncoded(), rsaAes(), "RSA_2048");
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    signsAsTheJdkVerifies(key, own, "ECDSA_SHA_256", "SHA256withECDSA");

    KeyRecord rsa = external(KeySpec.RSA_2048, KeyUsage.SIGN_VERIFY);
    refused(ErrorCode.VALIDATION, () -> await(imports.getParametersForImport(ROOT, rsa.keyId(), "RSAES_OAEP_SHA_1",
        "RSA_4096")));
    KeyRecord p521 = external(KeySpec.ECC_NIST_P521, KeyUsage.SIGN_VERIFY);
    refused(ErrorCode.VALIDATION, () -> await(imports.getParametersForImport(ROOT, p521.keyId(), "RSAES_OAEP_SHA_1",
        "RSA_2048")));
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> external(KeySpec.ECC_NIST_EDWARDS25519, KeyUsage.SIGN_VERIFY));
  }

  @Test
  void ecKeyWrappedDirectlyWithOaep() throws Exception {
    KeyPair own = jdkPair("EC", "secp256r1");
    KeyRecord key = external(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    String oaep = kind == TokenKind.SOFTHSM2 ? "RSAES_OAEP_SHA_1" : "RSAES_OAEP_SHA_256";
    importPrivate(key, own.getPrivate().getEncoded(), oaep, "RSA_2048");
    assertArrayEquals(own.getPublic().getEncoded(), publicKey(key));
    signsAsTheJdkVerifies(key, own, "ECDSA_SHA_256", "SHA256withECDSA");
  }
}
