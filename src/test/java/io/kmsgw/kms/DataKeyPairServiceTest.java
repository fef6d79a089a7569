package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.OpenSsl;
import io.kmsgw.testing.TestToken;
import io.kmsgw.testing.TokenKind;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * GenerateDataKeyPair(WithoutPlaintext) on each token, judged from outside: openssl reads every private key (PKCS#8)
 * and public key (SPKI), derives the public key from the private one and finds the returned one, and checks the key;
 * the JDK (Bouncy Castle for secp256k1) signs with the private key and verifies with the public one; Decrypt of the
 * sealed private key with the same encryption context gives the same PKCS#8. Every refusal comes before the HSM.
 */
@OnEveryToken
class DataKeyPairServiceTest {
  private static final Map<String, String> CONTEXT = Map.of("purpose", "data key pair", "tenant", "acme");
  private static final Provider BC = new BouncyCastleProvider();
  private static final List<KeySpec> PAIR_SPECS = List.of(KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096,
      KeySpec.ECC_NIST_P256, KeySpec.ECC_NIST_P384, KeySpec.ECC_NIST_P521, KeySpec.ECC_SECG_P256K1,
      KeySpec.ECC_NIST_EDWARDS25519);

  private static KmsFixture kms;
  private static ExecutorService compute;
  private static final AtomicInteger generations = new AtomicInteger();
  private static DataKeyPairService pairs;
  private static KeyRecord cmk;
  private static OpenSsl openssl;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) throws Exception {
    kms = new KmsFixture(kind, "data-key-pairs");
    compute = Executors.newFixedThreadPool(2);
    pairs = new DataKeyPairService(kms.crypto, r -> {
      generations.incrementAndGet();
      compute.execute(r);
    });
    cmk = kms.newKey();
    openssl = new OpenSsl(TestToken.scratch("data-key-pairs-openssl-" + kind));
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    compute.shutdownNow();
    kms.close();
  }

  private static DataKeyPairService.Result generate(String operation, KeySpec spec, Map<String, String> context) {
    return generate(ROOT, operation, cmk, spec.name(), context, false);
  }

  private static DataKeyPairService.Result generate(Caller caller, String operation, KeyRecord key, String spec,
      Map<String, String> context, boolean dryRun) {
    return await(pairs.generate(caller, operation, key.keyId(), spec, context, dryRun));
  }

  private static byte[] decrypt(byte[] blob, Map<String, String> context) {
    return await(kms.crypto.decrypt(ROOT, blob, null, context, null, false, false)).plaintext();
  }

  @Test
  void everyPairSpec_isAValidPairThatOpensslAndTheJdkAccept_andItsSealedPrivateKeyDecrypts() throws Exception {
    Set<String> publicKeys = new HashSet<>();
    for (KeySpec spec : PAIR_SPECS) {
      DataKeyPairService.Result r = generate(DataKeyPairService.WITH_PLAINTEXT, spec, CONTEXT);
      assertEquals(spec, r.keyPairSpec());
      assertEquals(cmk.keyId(), r.key().keyId());
      assertEquals(cmk.currentVersion(), r.keyVersion());
      judge(spec, r.privateKeyPlaintext(), r.publicKey());
      assertArrayEquals(r.privateKeyPlaintext(), decrypt(r.privateKeyCiphertextBlob(), CONTEXT), spec.name());
      assertTrue(publicKeys.add(java.util.HexFormat.of().formatHex(r.publicKey())), "a new pair every time");
    }
  }

  @Test
  void withoutPlaintext_returnsNoPrivateKey_andDecryptGivesThePrivateKeyOfThePublicOne() throws Exception {
    for (KeySpec spec : List.of(KeySpec.ECC_NIST_P256, KeySpec.RSA_2048, KeySpec.ECC_NIST_EDWARDS25519)) {
      DataKeyPairService.Result r = generate(DataKeyPairService.WITHOUT_PLAINTEXT, spec, CONTEXT);
      assertNull(r.privateKeyPlaintext());
      judge(spec, decrypt(r.privateKeyCiphertextBlob(), CONTEXT), r.publicKey());
    }
  }

  @Test
  void sealedPrivateKey_withAnotherContext_failsInvalidCiphertext() {
    DataKeyPairService.Result r = generate(DataKeyPairService.WITH_PLAINTEXT, KeySpec.ECC_NIST_P256, CONTEXT);
    KmsException e = assertThrows(KmsException.class,
        () -> decrypt(r.privateKeyCiphertextBlob(), Map.of("purpose", "data key pair")));
    assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code());
    assertThrows(KmsException.class, () -> decrypt(r.privateKeyCiphertextBlob(), Map.of()));
  }

  /** openssl and the JDK judge a PKCS#8 private key and SPKI public key of the spec. */
  private void judge(KeySpec spec, byte[] pkcs8, byte[] spki) throws Exception {
    String name = spec.name() + "-" + kind;
    openssl.write(name + ".key.der", pkcs8);
    openssl.write(name + ".pub.der", spki);
    String type = openssl.ok("pkey", "-inform", "DER", "-in", name + ".key.der", "-noout", "-text").text();
    assertTrue(type.startsWith(switch (spec.family()) {
      case RSA -> "Private-Key: (" + spec.bits() + " bit, 2 primes)";
      case EC -> "Private-Key: (" + spec.bits() + " bit)";
      default -> "ED25519 Private-Key:";
    }), type);
    if (spec.family() == KeySpec.Family.EC) {
      String curve = switch (spec) {
        case ECC_NIST_P256 -> "prime256v1";
        case ECC_NIST_P384 -> "secp384r1";
        case ECC_NIST_P521 -> "secp521r1";
        default -> "secp256k1";
      };
      assertTrue(type.contains("ASN1 OID: " + curve), type);
    }
    byte[] derived = openssl.ok("pkey", "-inform", "DER", "-in", name + ".key.der", "-pubout", "-outform", "DER")
        .out();
    byte[] read = openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", name + ".pub.der", "-outform", "DER").out();
    assertArrayEquals(spki, read, "openssl reads the SPKI as it is");
    assertArrayEquals(spki, derived, "the public key is the private key's");
    assertTrue(openssl.ok("pkey", "-inform", "DER", "-in", name + ".key.der", "-check", "-noout").text()
        .contains("Key is valid"), name);
    if (spec.family() == KeySpec.Family.EC) {
      assertTrue(openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", name + ".pub.der", "-pubcheck", "-noout")
          .text().contains("Key is valid"), name);
    }

    String algorithm = switch (spec.family()) {
      case RSA -> "RSA";
      case EC -> "EC";
      default -> "Ed25519";
    };
    KeyFactory factory = spec == KeySpec.ECC_SECG_P256K1 ? KeyFactory.getInstance("EC", BC)
        : KeyFactory.getInstance(algorithm);
    PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    PublicKey publicKey = factory.generatePublic(new X509EncodedKeySpec(spki));
    String signing = switch (spec.family()) {
      case RSA -> "SHA256withRSA";
      case EC -> "SHA256withECDSA";
      default -> "Ed25519";
    };
    byte[] message = ("signed with a " + spec + " data key pair").getBytes(StandardCharsets.UTF_8);
    Signature signer = spec == KeySpec.ECC_SECG_P256K1 ? Signature.getInstance(signing, BC)
        : Signature.getInstance(signing);
    signer.initSign(privateKey);
    signer.update(message);
    byte[] signature = signer.sign();
    Signature verifier = spec == KeySpec.ECC_SECG_P256K1 ? Signature.getInstance(signing, BC)
        : Signature.getInstance(signing);
    verifier.initVerify(publicKey);
    verifier.update(message);
    assertTrue(verifier.verify(signature), name);
  }

  // --- refusals: each before the HSM and before any generation

  private static long hsmCalls() {
    return ((ThreadPoolExecutor) kms.hsmExecutor).getTaskCount();
  }

  private static KmsException refusedBeforeTheHsm(ErrorCode code, Supplier<?> call) {
    long hsm = hsmCalls();
    int generated = generations.get();
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
    assertEquals(hsm, hsmCalls(), "no HSM call");
    assertEquals(generated, generations.get(), "no generation");
    return e;
  }

  @Test
  void asymmetricOrHmacCmk_isRefusedInvalidKeyUsage() {
    for (KeySpec spec : List.of(KeySpec.ECC_NIST_P256, KeySpec.HMAC_256)) {
      KeyRecord other = await(kms.keys.createKey(ROOT, new KeyService.NewKey("not for data keys", spec,
          spec == KeySpec.HMAC_256 ? KeyUsage.GENERATE_VERIFY_MAC : KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of(),
          null, false)));
      KmsException e = refusedBeforeTheHsm(ErrorCode.INVALID_KEY_USAGE,
          () -> generate(ROOT, DataKeyPairService.WITH_PLAINTEXT, other, "ECC_NIST_P256", CONTEXT, false));
      assertTrue(e.getMessage().contains(other.arn()), e.getMessage());
    }
  }

  @Test
  void disabledOrDoomedCmk_dryRun_sm2_andAnUnknownSpec_areRefusedBeforeTheHsm() {
    KeyRecord disabled = kms.newKey();
    await(kms.lifecycle.disableKey(ROOT, disabled.keyId()));
    refusedBeforeTheHsm(ErrorCode.DISABLED,
        () -> generate(ROOT, DataKeyPairService.WITH_PLAINTEXT, disabled, "RSA_2048", CONTEXT, false));
    KeyRecord doomed = kms.newKey();
    await(kms.lifecycle.scheduleDeletion(ROOT, doomed.keyId(), 7));
    refusedBeforeTheHsm(ErrorCode.KMS_INVALID_STATE,
        () -> generate(ROOT, DataKeyPairService.WITHOUT_PLAINTEXT, doomed, "ECC_NIST_P256", CONTEXT, false));
    refusedBeforeTheHsm(ErrorCode.DRY_RUN_OPERATION,
        () -> generate(ROOT, DataKeyPairService.WITHOUT_PLAINTEXT, cmk, "RSA_2048", CONTEXT, true));
    KmsException sm2 = refusedBeforeTheHsm(ErrorCode.UNSUPPORTED_OPERATION,
        () -> generate(ROOT, DataKeyPairService.WITH_PLAINTEXT, cmk, "SM2", CONTEXT, false));
    assertTrue(sm2.getMessage().contains("SM2"), sm2.getMessage());
    refusedBeforeTheHsm(ErrorCode.VALIDATION,
        () -> generate(ROOT, DataKeyPairService.WITH_PLAINTEXT, cmk, "HMAC_256", CONTEXT, false));
    refusedBeforeTheHsm(ErrorCode.NOT_FOUND, () -> await(pairs.generate(ROOT, DataKeyPairService.WITH_PLAINTEXT,
        java.util.UUID.randomUUID(), "RSA_2048", CONTEXT, false)));
  }

  @Test
  void aGenerationThatWaitedTooLongForTheComputePool_isThrottled_andNothingIsSealed() {
    // no wait is short enough for a limit of zero: the queued generation gives up, as one behind RSA-4096 pairs would
    AtomicInteger ran = new AtomicInteger();
    DataKeyPairService impatient = new DataKeyPairService(kms.crypto, r -> compute.execute(() -> {
      ran.incrementAndGet();
      r.run();
    }), java.time.Duration.ZERO);
    long hsm = hsmCalls();
    KmsException e = assertThrows(KmsException.class, () -> await(impatient.generate(ROOT,
        DataKeyPairService.WITH_PLAINTEXT, cmk.keyId(), "RSA_4096", CONTEXT, false)));
    assertEquals(ErrorCode.THROTTLING, e.code(), e.getMessage());
    assertEquals(1, ran.get());
    assertEquals(hsm + 1, hsmCalls(), "the seed was drawn; nothing was sealed");
  }

  @Test
  void policies_seeTheActionAndKmsDataKeyPairSpec_andGrantsAllowBothOperations() {
    Caller app = new Caller("arn:aws:iam::111122223333:user/pair-app", "111122223333", "AIDAPAIR", "AKIAPAIR",
        "IAMUser");
    kms.iamPolicies.put(app.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateDataKeyPair","Resource":"*",
          "Condition":{"StringEquals":{"kms:DataKeyPairSpec":"ECC_NIST_P256"}}}]}""", PolicyParser.Kind.IDENTITY)));
    assertEquals(KeySpec.ECC_NIST_P256,
        generate(app, DataKeyPairService.WITH_PLAINTEXT, cmk, "ECC_NIST_P256", CONTEXT, false).keyPairSpec());
    refusedBeforeTheHsm(ErrorCode.ACCESS_DENIED,
        () -> generate(app, DataKeyPairService.WITH_PLAINTEXT, cmk, "RSA_2048", CONTEXT, false));
    KmsException other = refusedBeforeTheHsm(ErrorCode.ACCESS_DENIED,
        () -> generate(app, DataKeyPairService.WITHOUT_PLAINTEXT, cmk, "ECC_NIST_P256", CONTEXT, false));
    assertTrue(other.getMessage().contains("kms:GenerateDataKeyPairWithoutPlaintext"), other.getMessage());

    Caller grantee = new Caller("arn:aws:iam::111122223333:user/pair-grantee", "111122223333", "AIDAGRANTEE",
        "AKIAGRANTEE", "IAMUser");
    refusedBeforeTheHsm(ErrorCode.ACCESS_DENIED,
        () -> generate(grantee, DataKeyPairService.WITHOUT_PLAINTEXT, cmk, "ECC_NIST_P256", CONTEXT, false));
    await(kms.grants.createGrant(ROOT, cmk.keyId(), new GrantService.NewGrant(grantee.arn(), null,
        List.of("GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"), new Constraints(null, CONTEXT),
        null, false)));
    assertFalse(generate(grantee, DataKeyPairService.WITHOUT_PLAINTEXT, cmk, "ECC_NIST_P256", CONTEXT, false)
        .publicKey().length == 0);
    generate(grantee, DataKeyPairService.WITH_PLAINTEXT, cmk, "ECC_NIST_P384", CONTEXT, false);
    refusedBeforeTheHsm(ErrorCode.ACCESS_DENIED, () -> generate(grantee, DataKeyPairService.WITH_PLAINTEXT, cmk,
        "ECC_NIST_P256", Map.of("purpose", "other"), false));
  }
}
