package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Sign and Verify through the operations layer on each token: every signing algorithm of every SIGN_VERIFY spec the
 * token can hold signs RAW and DIGEST messages, and the JDK's own {@link Signature} (Bouncy Castle for secp256k1, which
 * the JDK dropped) verifies each signature against the public key read from the HSM. Verify accepts them, and answers
 * KMSInvalidSignatureException for a changed message, a changed signature, a signature of the wrong length or form.
 * Bad input gets AWS's error from a key whose material was destroyed in the HSM: had the HSM been asked, the answer
 * would have been KMSInternalException.
 */
@OnEveryToken
class SigningServiceTest {
  private static final byte[] MESSAGE = "an order to sign, as an application would send it".getBytes(
      StandardCharsets.UTF_8);
  private static KmsFixture kms;
  private static SigningService signing;
  /** A key per SIGN_VERIFY spec the token can hold. */
  private static final Map<KeySpec, KeyRecord> KEYS = new EnumMap<>(KeySpec.class);

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "signing");
    signing = new SigningService(kms.keys, kms.stores, new PublicKeys(kms.keys, kms.stores));
    KEYS.clear();
    for (KeySpecTable.Row row : KeySpecTable.rows()) {
      if (row.usage() != KeyUsage.SIGN_VERIFY || KeySpecTable.refusal(row.spec()).isPresent()
          || !kms.keyStore.status().mechanisms().missing(KeyMaterial.required(row.spec(), row.usage())).isEmpty()
          || (kind == TokenKind.NSS && row.spec() == KeySpec.ECC_SECG_P256K1)) {
        continue; // EveryKeySpecTest shows these are refused at CreateKey
      }
      KEYS.put(row.spec(), create(row.spec(), KeyUsage.SIGN_VERIFY));
    }
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("signing", spec, usage, Origin.AWS_KMS, List.of(),
        null, false)));
  }

  private static byte[] sign(KeyRecord key, byte[] message, String type, Signing algorithm) {
    return await(signing.sign(ROOT, key.keyId(), message, type, algorithm.name(), false)).signature();
  }

  private static void verify(KeyRecord key, byte[] message, String type, byte[] signature, Signing algorithm) {
    await(signing.verify(ROOT, key.keyId(), message, type, signature, algorithm.name(), false));
  }

  private static KmsException fails(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }

  private static byte[] digest(Signing algorithm, byte[] message) throws Exception {
    return MessageDigest.getInstance(algorithm.hash()).digest(message);
  }

  private static PublicKey publicKey(KeyRecord key) throws Exception {
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    byte[] spki = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.publicKeyInfo(object, key.keySpec())));
    X509EncodedKeySpec encoded = new X509EncodedKeySpec(spki);
    return switch (key.keySpec().family()) {
      case RSA -> KeyFactory.getInstance("RSA").generatePublic(encoded);
      case EC -> KeyFactory.getInstance("EC", new BouncyCastleProvider()).generatePublic(encoded);
      default -> KeyFactory.getInstance("Ed25519").generatePublic(encoded);
    };
  }

  /** The JDK's verifier of the algorithm: the outside judge. */
  private static Signature jdkVerifier(Signing algorithm, KeySpec spec) throws Exception {
    String sha = algorithm.hash().replace("-", "");
    return switch (algorithm) {
      case RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512 ->
          Signature.getInstance(sha + "withRSA");
      case RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512 -> {
        Signature s = Signature.getInstance("RSASSA-PSS");
        s.setParameter(new PSSParameterSpec(algorithm.hash(), "MGF1", new MGF1ParameterSpec(algorithm.hash()),
            algorithm.digestLength(), 1));
        yield s;
      }
      case ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512 -> spec == KeySpec.ECC_SECG_P256K1
          ? Signature.getInstance(sha + "withECDSA", new BouncyCastleProvider())
          : Signature.getInstance(sha + "withECDSA");
      case ED25519_SHA_512 -> Signature.getInstance("Ed25519");
      default -> throw new AssertionError(algorithm);
    };
  }

  private static boolean jdkVerifies(KeyRecord key, Signing algorithm, byte[] message, byte[] signature)
      throws Exception {
    Signature v = jdkVerifier(algorithm, key.keySpec());
    v.initVerify(publicKey(key));
    v.update(message);
    return v.verify(signature);
  }

  @Test
  void everyAlgorithmOfEverySpecTheTokenHolds_signsWhatTheJdkVerifies_andVerifyAgrees() throws Exception {
    assertTrue(KEYS.containsKey(KeySpec.ECC_NIST_P256) && KEYS.containsKey(KeySpec.RSA_2048), KEYS.keySet().toString());
    List<String> checked = new ArrayList<>();
    for (KeyRecord key : KEYS.values()) {
      for (Signing algorithm : KeySpecTable.row(key.keySpec(), KeyUsage.SIGN_VERIFY).orElseThrow().signing()) {
        if (algorithm == Signing.ED25519_PH_SHA_512) {
          continue; // refused: see ed25519Prehash_isRefusedAsUnsupported
        }
        String where = key.keySpec() + " " + algorithm + " on " + kind;
        byte[] raw = sign(key, MESSAGE, null, algorithm);
        assertTrue(jdkVerifies(key, algorithm, MESSAGE, raw), where + " RAW");
        verify(key, MESSAGE, "RAW", raw, algorithm);
        if (algorithm != Signing.ED25519_SHA_512) {
          // a message and its digest are the same message, whichever way it was signed
          byte[] digest = digest(algorithm, MESSAGE);
          byte[] fromDigest = sign(key, digest, "DIGEST", algorithm);
          assertTrue(jdkVerifies(key, algorithm, MESSAGE, fromDigest), where + " DIGEST");
          verify(key, MESSAGE, null, fromDigest, algorithm);
          verify(key, digest, "DIGEST", raw, algorithm);
        }
        byte[] other = MESSAGE.clone();
        other[0] ^= 1;
        fails(ErrorCode.KMS_INVALID_SIGNATURE, () -> {
          verify(key, other, "RAW", raw, algorithm);
          return null;
        });
        byte[] changed = raw.clone();
        changed[changed.length - 1] ^= 1;
        fails(ErrorCode.KMS_INVALID_SIGNATURE, () -> {
          verify(key, MESSAGE, "RAW", changed, algorithm);
          return null;
        });
        checked.add(key.keySpec() + "/" + algorithm);
      }
    }
    assertTrue(checked.size() >= 10, checked.toString());
  }

  @Test
  void pssSalt_isAsLongAsTheDigest_asOpensslsSaltlenDigestExpects() throws Exception {
    KeyRecord key = KEYS.get(KeySpec.RSA_2048);
    byte[] sig = sign(key, MESSAGE, "RAW", Signing.RSASSA_PSS_SHA_384);
    Signature zeroSalt = Signature.getInstance("RSASSA-PSS");
    zeroSalt.setParameter(new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 0, 1));
    zeroSalt.initVerify(publicKey(key));
    zeroSalt.update(MESSAGE);
    assertFalse(zeroSalt.verify(sig), "a verifier expecting no salt refuses it");
    assertTrue(jdkVerifies(key, Signing.RSASSA_PSS_SHA_384, MESSAGE, sig));
  }

  @Test
  void malformedOrWrongLengthOrOtherKeysSignatures_failInvalidSignature() {
    for (KeyRecord key : KEYS.values()) {
      Signing algorithm = KeySpecTable.row(key.keySpec(), KeyUsage.SIGN_VERIFY).orElseThrow().signing().get(0);
      byte[] good = sign(key, MESSAGE, "RAW", algorithm);
      byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
      byte[] shorter = java.util.Arrays.copyOf(good, good.length - 1);
      List<byte[]> bad = new ArrayList<>(List.of(longer, shorter, new byte[] {0x30, 0x00}, new byte[] {1}));
      java.util.Random random = new java.util.Random(good.length);
      for (int i = 0; i < 50; i++) {
        byte[] noise = new byte[good.length];
        random.nextBytes(noise);
        bad.add(noise);
      }
      for (byte[] b : bad) {
        fails(ErrorCode.KMS_INVALID_SIGNATURE, () -> {
          verify(key, MESSAGE, "RAW", b, algorithm);
          return null;
        });
      }
    }
    // the Verify request must name the key that signed (the model: "If you specify a different KMS key, the signature
    // verification fails")
    KeyRecord other = create(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    byte[] byOther = sign(other, MESSAGE, "RAW", Signing.ECDSA_SHA_256);
    verify(other, MESSAGE, "RAW", byOther, Signing.ECDSA_SHA_256);
    fails(ErrorCode.KMS_INVALID_SIGNATURE, () -> {
      verify(KEYS.get(KeySpec.ECC_NIST_P256), MESSAGE, "RAW", byOther, Signing.ECDSA_SHA_256);
      return null;
    });
    // NSS 3.87 answered one C_Verify of a bad RSA-PSS signature with CKR_DEVICE_ERROR, which takes a key store down:
    // Verify runs in the gateway, so no signature a caller sends can
    assertTrue(kms.keyStore.isConnected(), kms.keyStore.status().toString());
  }

  @Test
  void ed25519_takesRawOnly_andItsPrehashVariantIsRefusedAsUnsupported() {
    KeyRecord key = KEYS.get(KeySpec.ECC_NIST_EDWARDS25519);
    org.junit.jupiter.api.Assumptions.assumeTrue(key != null, kind + " has no EdDSA: Ed25519 keys are refused at "
        + "CreateKey (EveryKeySpecTest)");
    fails(ErrorCode.VALIDATION, () -> sign(key, new byte[64], "DIGEST", Signing.ED25519_SHA_512));
    fails(ErrorCode.VALIDATION, () -> sign(key, MESSAGE, "RAW", Signing.ED25519_PH_SHA_512));
    fails(ErrorCode.VALIDATION, () -> sign(key, new byte[32], "DIGEST", Signing.ED25519_PH_SHA_512));
    KmsException e = fails(ErrorCode.UNSUPPORTED_OPERATION, () -> sign(key, new byte[64], "DIGEST",
        Signing.ED25519_PH_SHA_512));
    assertTrue(e.getMessage().contains("CK_EDDSA_PARAMS"), e.getMessage());
  }

  @Test
  void badInput_getsAwsErrors_withoutAskingTheHsm() {
    KeyRecord key = create(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> {
      s.destroy(object);
      return null;
    }));
    // a good request reaches the HSM, which no longer has the key
    fails(ErrorCode.KMS_INTERNAL, () -> sign(key, MESSAGE, "RAW", Signing.ECDSA_SHA_256));
    fails(ErrorCode.INVALID_KEY_USAGE, () -> sign(key, MESSAGE, "RAW", Signing.ECDSA_SHA_384));
    fails(ErrorCode.INVALID_KEY_USAGE, () -> sign(key, MESSAGE, "RAW", Signing.RSASSA_PSS_SHA_256));
    fails(ErrorCode.VALIDATION, () -> sign(key, new byte[31], "DIGEST", Signing.ECDSA_SHA_256));
    fails(ErrorCode.VALIDATION, () -> sign(key, new byte[64], "DIGEST", Signing.ECDSA_SHA_256));
    fails(ErrorCode.VALIDATION, () -> sign(key, new byte[64], "EXTERNAL_MU", Signing.ECDSA_SHA_256));
    fails(ErrorCode.DRY_RUN_OPERATION, () -> await(signing.sign(ROOT, key.keyId(), MESSAGE, "RAW", "ECDSA_SHA_256",
        true)));
    fails(ErrorCode.DRY_RUN_OPERATION, () -> await(signing.verify(ROOT, key.keyId(), MESSAGE, "RAW", new byte[70],
        "ECDSA_SHA_256", true)));
    fails(ErrorCode.KMS_INVALID_SIGNATURE, () -> {
      verify(key, MESSAGE, "RAW", new byte[] {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}, Signing.ECDSA_SHA_256);
      return null;
    });
    KeyRecord symmetric = kms.newKey();
    fails(ErrorCode.INVALID_KEY_USAGE, () -> sign(symmetric, MESSAGE, "RAW", Signing.ECDSA_SHA_256));
    await(kms.lifecycle.disableKey(ROOT, key.keyId()));
    fails(ErrorCode.DISABLED, () -> sign(key, MESSAGE, "RAW", Signing.ECDSA_SHA_256));
  }

  @Test
  void policiesSeeTheAlgorithmAndMessageType_andGrantsGiveSignAndVerifyApart() {
    KeyRecord key = await(kms.keys.createKey(ROOT, new KeyService.NewKey("signing policy", KeySpec.RSA_2048,
        KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of(), null, false, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":"kms:Sign","Resource":"*",
           "Condition":{"StringNotEquals":{"kms:SigningAlgorithm":"RSASSA_PSS_SHA_256"}}},
          {"Effect":"Deny","Principal":"*","Action":"kms:Verify","Resource":"*",
           "Condition":{"StringEquals":{"kms:MessageType":"DIGEST"}}}]}""", false)));
    byte[] sig = sign(key, MESSAGE, null, Signing.RSASSA_PSS_SHA_256);
    fails(ErrorCode.ACCESS_DENIED, () -> sign(key, MESSAGE, "RAW", Signing.RSASSA_PSS_SHA_512));
    // no MessageType is RAW to policies, as in KMS
    verify(key, MESSAGE, null, sig, Signing.RSASSA_PSS_SHA_256);
    fails(ErrorCode.ACCESS_DENIED, () -> {
      verify(key, new byte[32], "DIGEST", sig, Signing.RSASSA_PSS_SHA_256);
      return null;
    });

    io.kmsgw.domain.Caller app = new io.kmsgw.domain.Caller("arn:aws:iam::111122223333:user/signer", "111122223333",
        "AIDASIGNER", "AKIASIGNER", "IAMUser");
    fails(ErrorCode.ACCESS_DENIED, () -> await(signing.sign(app, key.keyId(), MESSAGE, null, "RSASSA_PSS_SHA_256",
        false)));
    await(kms.grants.createGrant(ROOT, key.keyId(), new GrantService.NewGrant(app.arn(), null, List.of("Sign"), null,
        null, false)));
    byte[] granted = await(signing.sign(app, key.keyId(), MESSAGE, null, "RSASSA_PSS_SHA_256", false)).signature();
    verify(key, MESSAGE, null, granted, Signing.RSASSA_PSS_SHA_256);
    fails(ErrorCode.ACCESS_DENIED, () -> await(signing.verify(app, key.keyId(), MESSAGE, null, granted,
        "RSASSA_PSS_SHA_256", false)));
  }
}
