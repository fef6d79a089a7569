package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Algorithms.KeyAgreement;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.pkcs11.TestKeys;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.testing.CustodyCheck;
import io.kmsgw.testing.CustodyCheck.ObjectAttributes;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.PeerKeys;
import io.kmsgw.testing.TokenKind;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * DeriveSharedSecret on each token, judged by the JDK's {@code KeyAgreement("ECDH")}: the peer computes the secret
 * with its own private key and the KMS key's public key, and it must be the gateway's answer. Bad peer keys are
 * refused with ValidationException before the HSM (and before DryRun's answer); the KMS key's custody is unchanged.
 */
@OnEveryToken
class AgreementServiceTest {
  private static final Map<KeySpec, String> CURVES = Map.of(KeySpec.ECC_NIST_P256, "secp256r1",
      KeySpec.ECC_NIST_P384, "secp384r1", KeySpec.ECC_NIST_P521, "secp521r1");
  private static KmsFixture kms;
  private static AgreementService agreement;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "ecdh");
    agreement = new AgreementService(kms.keys, kms.stores);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("ecdh test", spec, usage, Origin.AWS_KMS, List.of(),
        null, false)));
  }

  private static byte[] derive(KeyRecord key, byte[] peerSpki) {
    return await(agreement.deriveSharedSecret(ROOT, key.keyId(), KeyAgreement.ECDH, peerSpki, false)).secret();
  }

  /** GetPublicKey's answer. */
  private static byte[] publicKeyOf(KeyRecord key) {
    return await(new PublicKeys(kms.keys, kms.stores).getPublicKey(ROOT, key.keyId())).subjectPublicKeyInfo();
  }

  private static byte[] jdkSecret(KeyPair peer, byte[] kmsPublicKey) throws Exception {
    PublicKey kmsKey = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(kmsPublicKey));
    javax.crypto.KeyAgreement ka = javax.crypto.KeyAgreement.getInstance("ECDH");
    ka.init(peer.getPrivate());
    ka.doPhase(kmsKey, true);
    return ka.generateSecret();
  }

  private static void refused(ErrorCode code, Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(code, e.code(), e.getMessage());
  }

  @Test
  void everyNistCurve_derivesTheSecretTheJdkComputesOnTheOtherSide() throws Exception {
    for (Map.Entry<KeySpec, String> c : CURVES.entrySet()) {
      KeyRecord key = create(c.getKey(), KeyUsage.KEY_AGREEMENT);
      byte[] kmsPublic = publicKeyOf(key);
      for (int i = 0; i < 3; i++) {
        KeyPair peer = PeerKeys.peer(c.getValue());
        byte[] secret = derive(key, peer.getPublic().getEncoded());
        assertEquals((c.getKey().bits() + 7) / 8, secret.length, c.getKey().toString());
        assertArrayEquals(jdkSecret(peer, kmsPublic), secret, c.getKey() + " on " + kind);
        // the same peer key as a compressed point: the same secret
        assertArrayEquals(secret, derive(key, PeerKeys.compressed(peer.getPublic())), "compressed");
      }
    }
  }

  @Test
  void twoKmsKeys_agreeOnOneSecret() {
    KeyRecord alice = create(KeySpec.ECC_NIST_P384, KeyUsage.KEY_AGREEMENT);
    KeyRecord bob = create(KeySpec.ECC_NIST_P384, KeyUsage.KEY_AGREEMENT);
    assertArrayEquals(derive(alice, publicKeyOf(bob)), derive(bob, publicKeyOf(alice)));
  }

  @Test
  void badPeerKeys_areValidationErrors_checkedBeforeDryRunAndTheHsm() throws Exception {
    KeyRecord key = create(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT);
    byte[] good = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    byte[] offCurve = good.clone();
    offCurve[offCurve.length - 1] ^= 1;
    byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
    List<byte[]> bad = List.of(PeerKeys.peer("secp384r1").getPublic().getEncoded(), offCurve, truncated,
        new byte[] {0x30, 0x00}, "not DER at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        KeyPairGenerator.getInstance("RSA").generateKeyPair().getPublic().getEncoded());
    for (byte[] spki : bad) {
      refused(ErrorCode.VALIDATION, () -> derive(key, spki));
      refused(ErrorCode.VALIDATION, () -> await(agreement.deriveSharedSecret(ROOT, key.keyId(), KeyAgreement.ECDH,
          spki, true)));
    }
    refused(ErrorCode.DRY_RUN_OPERATION, () -> await(agreement.deriveSharedSecret(ROOT, key.keyId(),
        KeyAgreement.ECDH, good, true)));
    assertEquals(32, derive(key, good).length, "the key still derives");
  }

  @Test
  void wrongUsageOrState_isRefused_andTheKeysCustodyIsUnchanged() throws Exception {
    byte[] peer = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    KeyRecord signing = create(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    refused(ErrorCode.INVALID_KEY_USAGE, () -> derive(signing, peer));
    refused(ErrorCode.INVALID_KEY_USAGE, () -> derive(kms.newKey(), peer));
    KeyRecord key = create(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT);
    derive(key, peer);
    await(kms.lifecycle.disableKey(ROOT, key.keyId()));
    refused(ErrorCode.DISABLED, () -> derive(key, peer));
    await(kms.lifecycle.enableKey(ROOT, key.keyId()));
    List<ObjectAttributes> objects = CustodyCheck.objects(kms.token, key.current().hsmLabel());
    assertEquals(2, objects.size(), "the key pair, and no derived object left behind as a token object: " + objects);
    ObjectAttributes priv = objects.stream().filter(o -> o.objectClass() == 3).findFirst().orElseThrow();
    KeyCustodyTest.assertHeldInCustody(priv);
    assertEquals("1", priv.get("CKA_DERIVE"));
    assertTrue(priv.get("CKA_VALUE").startsWith("refused"), priv.toString());
  }

  @Test
  void keyAgreementAlgorithmConditionKey_isEvaluated() throws Exception {
    KeyRecord key = create(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT);
    byte[] peer = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    Caller app = new Caller("arn:aws:iam::111122223333:user/ecdh-app", "111122223333", "AIDAECDH", "AKIAECDH",
        "IAMUser");
    kms.iamPolicies.put(app.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DeriveSharedSecret","Resource":"%s",
          "Condition":{"StringEquals":{"kms:KeyAgreementAlgorithm":"ECDH"}}}]}"""
        .formatted(key.arn()), PolicyParser.Kind.IDENTITY)));
    assertEquals(32, await(agreement.deriveSharedSecret(app, key.keyId(), KeyAgreement.ECDH, peer, false))
        .secret().length);
    kms.iamPolicies.put(app.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DeriveSharedSecret","Resource":"%s",
          "Condition":{"StringEquals":{"kms:KeyAgreementAlgorithm":"SM2"}}}]}"""
        .formatted(key.arn()), PolicyParser.Kind.IDENTITY)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(agreement.deriveSharedSecret(app, key.keyId(), KeyAgreement.ECDH,
        peer, false)));
  }

  @Test
  void theDerivedSecret_leavesNoObjectBehind_notEvenASessionObject() throws Exception {
    io.kmsgw.hsm.Hsm hsm = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    TestKeys.sessionSecretKeys(hsm, true);
    KeyRecord key = create(KeySpec.ECC_NIST_P521, KeyUsage.KEY_AGREEMENT);
    for (int i = 0; i < 10; i++) {
      assertEquals(66, derive(key, PeerKeys.peer("secp521r1").getPublic().getEncoded()).length);
    }
    assertEquals(0, TestKeys.sessionSecretKeys(hsm, false), "no derived secret is left on " + kind);
    // the control: the search does see a session object the application left
    TestKeys.leaveSessionSecret(hsm);
    assertEquals(1, TestKeys.sessionSecretKeys(hsm, true));
  }

  @Test
  void inSteadyState_noDeriveLooksTheKeyUp() throws Exception {
    KeyRecord key = create(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT);
    byte[] peer = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    byte[] first = derive(key, peer);
    io.kmsgw.hsm.Hsm hsm = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    long finds = hsm.stats().findObjects();
    for (int i = 0; i < 50; i++) {
      assertArrayEquals(first, derive(key, peer));
    }
    assertEquals(finds, hsm.stats().findObjects(), "no C_FindObjects per request: the private key's handle is cached");
  }
}
