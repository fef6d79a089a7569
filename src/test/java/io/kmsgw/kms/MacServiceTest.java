package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kmsgw.domain.Algorithms.Mac;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.TestKeys;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * GenerateMac and VerifyMac on each token, judged from outside kmsgw: the JDK's {@code Mac} and RFC 4231's vectors
 * over a secret of known value put in the HMAC key's place, and on SoftHSM2 OpenSC's {@code pkcs11-tool} computing
 * with the gateway's own (secret, never extractable) key object.
 */
@OnEveryToken
class MacServiceTest {
  private static final Map<KeySpec, Mac> ALGORITHM = Map.of(KeySpec.HMAC_224, Mac.HMAC_SHA_224,
      KeySpec.HMAC_256, Mac.HMAC_SHA_256, KeySpec.HMAC_384, Mac.HMAC_SHA_384, KeySpec.HMAC_512, Mac.HMAC_SHA_512);
  private static final byte[] MESSAGE = "the message to authenticate".getBytes(StandardCharsets.UTF_8);
  private static KmsFixture kms;
  private static MacService macs;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "mac");
    macs = new MacService(kms.keys, kms.stores);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("mac test", spec, usage, Origin.AWS_KMS, List.of(),
        null, false)));
  }

  private static byte[] mac(KeyRecord key, Mac algorithm, byte[] message) {
    return await(macs.generateMac(ROOT, key.keyId(), message, algorithm, false)).mac();
  }

  private static void verify(KeyRecord key, Mac algorithm, byte[] message, byte[] mac) {
    assertEquals(key.keyId(), await(macs.verifyMac(ROOT, key.keyId(), message, algorithm, mac, false)).keyId());
  }

  private static void refused(ErrorCode code, Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(code, e.code(), e.getMessage());
  }

  private static String jdkName(Mac algorithm) {
    return "Hmac" + algorithm.name().substring("HMAC_".length()).replace("_", "");
  }

  @Test
  void everyHmacSpec_macsWithItsLength_verifiesItsMac_andRefusesEveryFlippedBit() {
    for (Map.Entry<KeySpec, Mac> e : ALGORITHM.entrySet()) {
      KeyRecord key = create(e.getKey(), KeyUsage.GENERATE_VERIFY_MAC);
      byte[] mac = mac(key, e.getValue(), MESSAGE);
      assertEquals(e.getKey().bits() / 8, mac.length, e.getKey().toString());
      verify(key, e.getValue(), MESSAGE, mac);
      for (int bit = 0; bit < mac.length * 8; bit++) {
        byte[] flipped = mac.clone();
        flipped[bit / 8] ^= (byte) (1 << (bit % 8));
        refused(ErrorCode.KMS_INVALID_MAC, () -> verify(key, e.getValue(), MESSAGE, flipped));
      }
      byte[] otherMessage = MESSAGE.clone();
      otherMessage[0] ^= 1;
      refused(ErrorCode.KMS_INVALID_MAC, () -> verify(key, e.getValue(), otherMessage, mac));
      refused(ErrorCode.KMS_INVALID_MAC, () -> verify(key, e.getValue(), MESSAGE,
          java.util.Arrays.copyOf(mac, mac.length - 1)));
      // another key of the same spec computes another MAC
      KeyRecord other = create(e.getKey(), KeyUsage.GENERATE_VERIFY_MAC);
      refused(ErrorCode.KMS_INVALID_MAC, () -> verify(other, e.getValue(), MESSAGE, mac));
    }
  }

  @Test
  void withASecretOfKnownValue_theMacIsTheJdksAndRfc4231s() throws Exception {
    SecureRandom random = new SecureRandom();
    for (Map.Entry<KeySpec, Mac> e : ALGORITHM.entrySet()) {
      KeyRecord key = create(e.getKey(), KeyUsage.GENERATE_VERIFY_MAC);
      byte[] secret = new byte[e.getKey().bits() / 8];
      random.nextBytes(secret);
      TestKeys.replaceWithKnownSecret(kms.keyStore.hsm(ErrorCode.KMS_INTERNAL),
          new HsmKey(key.current().hsmLabel(), key.current().hsmId()), secret);
      for (byte[] message : List.of(MESSAGE, new byte[1], new byte[4096])) {
        javax.crypto.Mac jdk = javax.crypto.Mac.getInstance(jdkName(e.getValue()));
        jdk.init(new SecretKeySpec(secret, jdk.getAlgorithm()));
        assertArrayEquals(jdk.doFinal(message), mac(key, e.getValue(), message), e.getKey() + " on " + kind);
      }
    }
    // RFC 4231 §4.7, test case 6 (a 131-byte key; SoftHSM2 refuses keys shorter than the digest, CKR_KEY_SIZE_RANGE)
    byte[] key131 = new byte[131];
    java.util.Arrays.fill(key131, (byte) 0xaa);
    byte[] data = "Test Using Larger Than Block-Size Key - Hash Key First".getBytes(StandardCharsets.US_ASCII);
    KeyRecord k256 = create(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC);
    TestKeys.replaceWithKnownSecret(kms.keyStore.hsm(ErrorCode.KMS_INTERNAL),
        new HsmKey(k256.current().hsmLabel(), k256.current().hsmId()), key131);
    assertArrayEquals(HexFormat.of().parseHex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        mac(k256, Mac.HMAC_SHA_256, data));
    KeyRecord k512 = create(KeySpec.HMAC_512, KeyUsage.GENERATE_VERIFY_MAC);
    TestKeys.replaceWithKnownSecret(kms.keyStore.hsm(ErrorCode.KMS_INTERNAL),
        new HsmKey(k512.current().hsmLabel(), k512.current().hsmId()), key131);
    assertArrayEquals(HexFormat.of().parseHex("80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
        + "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"), mac(k512, Mac.HMAC_SHA_512, data));
    verify(k512, Mac.HMAC_SHA_512, data, mac(k512, Mac.HMAC_SHA_512, data));
  }

  @Test
  void pkcs11Tool_computesTheSameMac_withTheGatewaysOwnKeyObject() throws Exception {
    assumeTrue(kind == TokenKind.SOFTHSM2, "pkcs11-tool cannot initialise NSS's softoken (it passes no init args)");
    KeyRecord key = create(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC);
    Path dir = Files.createTempDirectory("mac-pkcs11-tool");
    Path in = Files.write(dir.resolve("message"), MESSAGE);
    Path out = dir.resolve("mac");
    Process p = new ProcessBuilder("pkcs11-tool", "--module", kms.token.library(), "--token-label",
        kms.token.label(), "--login", "--pin", io.kmsgw.testing.TestToken.USER_PIN, "--sign", "-m", "SHA256-HMAC",
        "--label", key.current().hsmLabel(), "-i", in.toString(), "-o", out.toString())
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(true, p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), output);
    assertArrayEquals(Files.readAllBytes(out), mac(key, Mac.HMAC_SHA_256, MESSAGE));
  }

  @Test
  void badRequests_areRefusedBeforeTheHsm() {
    KeyRecord hmac = create(KeySpec.HMAC_384, KeyUsage.GENERATE_VERIFY_MAC);
    refused(ErrorCode.INVALID_KEY_USAGE, () -> mac(hmac, Mac.HMAC_SHA_256, MESSAGE));
    refused(ErrorCode.INVALID_KEY_USAGE, () -> verify(hmac, Mac.HMAC_SHA_512, MESSAGE, new byte[64]));
    KeyRecord symmetric = kms.newKey();
    refused(ErrorCode.INVALID_KEY_USAGE, () -> mac(symmetric, Mac.HMAC_SHA_256, MESSAGE));
    refused(ErrorCode.DRY_RUN_OPERATION, () -> await(macs.generateMac(ROOT, hmac.keyId(), MESSAGE,
        Mac.HMAC_SHA_384, true)));
    // DryRun checks everything else first: a MAC that would not verify is not looked at
    refused(ErrorCode.DRY_RUN_OPERATION, () -> await(macs.verifyMac(ROOT, hmac.keyId(), MESSAGE,
        Mac.HMAC_SHA_384, new byte[48], true)));
    await(kms.lifecycle.disableKey(ROOT, hmac.keyId()));
    refused(ErrorCode.DISABLED, () -> mac(hmac, Mac.HMAC_SHA_384, MESSAGE));
    await(kms.lifecycle.enableKey(ROOT, hmac.keyId()));
    assertEquals(48, mac(hmac, Mac.HMAC_SHA_384, MESSAGE).length);
  }

  @Test
  void macAlgorithmConditionKey_limitsWhatAnIamPolicyAllows() {
    KeyRecord key = create(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC);
    Caller app = new Caller("arn:aws:iam::111122223333:user/mac-app", "111122223333", "AIDAMAC", "AKIAMAC",
        "IAMUser");
    kms.iamPolicies.put(app.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:GenerateMac","kms:VerifyMac"],
          "Resource":"%s","Condition":{"StringEquals":{"kms:MacAlgorithm":"HMAC_SHA_256"}}}]}"""
        .formatted(key.arn()), PolicyParser.Kind.IDENTITY)));
    byte[] mac = await(macs.generateMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_256, false)).mac();
    await(macs.verifyMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_256, mac, false));
    refused(ErrorCode.ACCESS_DENIED, () -> await(macs.generateMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_512,
        false)));
    kms.iamPolicies.put(app.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateMac",
          "Resource":"%s","Condition":{"StringEquals":{"kms:MacAlgorithm":"HMAC_SHA_512"}}}]}"""
        .formatted(key.arn()), PolicyParser.Kind.IDENTITY)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(macs.generateMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_256,
        false)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(macs.verifyMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_256, mac,
        false)));
  }

  @Test
  void aGrantOfGenerateMac_allowsThatOperationOnly_andMacKeysTakeNoEncryptionGrants() {
    KeyRecord key = create(KeySpec.HMAC_224, KeyUsage.GENERATE_VERIFY_MAC);
    Caller app = new Caller("arn:aws:iam::111122223333:user/granted-mac", "111122223333", "AIDAGM", "AKIAGM",
        "IAMUser");
    refused(ErrorCode.ACCESS_DENIED, () -> await(macs.generateMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_224,
        false)));
    await(kms.grants.createGrant(ROOT, key.keyId(), new GrantService.NewGrant(app.arn(), null,
        List.of("GenerateMac"), null, null, false)));
    byte[] mac = await(macs.generateMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_224, false)).mac();
    assertEquals(28, mac.length);
    refused(ErrorCode.ACCESS_DENIED, () -> await(macs.verifyMac(app, key.keyId(), MESSAGE, Mac.HMAC_SHA_224, mac,
        false)));
    refused(ErrorCode.VALIDATION, () -> await(kms.grants.createGrant(ROOT, key.keyId(), new GrantService.NewGrant(
        app.arn(), null, List.of("Encrypt"), null, null, false))));
  }

  @Test
  void inSteadyState_noMacLooksTheKeyUp() {
    KeyRecord key = create(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC);
    byte[] mac = mac(key, Mac.HMAC_SHA_256, MESSAGE);
    io.kmsgw.hsm.Hsm hsm = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    long finds = hsm.stats().findObjects();
    for (int i = 0; i < 50; i++) {
      mac(key, Mac.HMAC_SHA_256, MESSAGE);
      verify(key, Mac.HMAC_SHA_256, MESSAGE, mac);
    }
    assertEquals(finds, hsm.stats().findObjects(), "no C_FindObjects per request: the key's handle is cached");
  }
}
