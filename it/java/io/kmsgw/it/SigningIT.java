package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.MessageType;
import software.amazon.awssdk.services.kms.model.SigningAlgorithmSpec;

/**
 * Sign and Verify on the real gateway (SoftHSM2), judged by programs that are not the gateway's: the AWS CLI v2 signs
 * and verifies, openssl verifies every signature against GetPublicKey's DER ({@code dgst -verify} for RAW,
 * {@code pkeyutl -verify} over the digest, with {@code rsa_pss_saltlen:digest} for PSS), and the AWS SDK for Java v2
 * signs what the JDK's {@link Signature} verifies. Bad input gets AWS's error by name, and the audit trail records the
 * algorithm and message type of each call but never the message or the signature.
 */
class SigningIT {
  private static final List<String> SPECS = List.of("RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
      "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519");
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static KmsClient sdk;
  private static Path work;
  private static io.kmsgw.testing.OpenSsl ssl;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("signing");
    cli = AwsCli.beside(gateway);
    work = cli.work();
    ssl = new io.kmsgw.testing.OpenSsl(work);
    sdk = gateway.clientWithoutRetries();
  }

  @AfterAll
  static void stop() {
    if (sdk != null) {
      sdk.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static io.kmsgw.testing.OpenSsl.Result openssl(String... args) throws Exception {
    return ssl.run(args);
  }

  private static String createKey(String spec) throws Exception {
    return cli.ok("create-key", "--key-spec", spec, "--key-usage", "SIGN_VERIFY").getJsonObject("KeyMetadata")
        .getString("KeyId");
  }

  /** GetPublicKey's DER, as a PEM file openssl reads. */
  private static Path publicKeyPem(String keyId, String name) throws Exception {
    JsonObject pub = cli.ok("get-public-key", "--key-id", keyId);
    Files.write(work.resolve(name + ".der"), Base64.getDecoder().decode(pub.getString("PublicKey")));
    io.kmsgw.testing.OpenSsl.Result r = openssl("pkey", "-pubin", "-inform", "DER", "-in", name + ".der", "-out", name + ".pem");
    assertEquals(0, r.exit(), r.err());
    return work.resolve(name + ".pem");
  }

  private static String sha(String algorithm) {
    return algorithm.endsWith("256") ? "sha256" : algorithm.endsWith("384") ? "sha384" : "sha512";
  }

  private static List<String> pssOptions(String algorithm, String flag) {
    return algorithm.startsWith("RSASSA_PSS")
        ? List.of(flag, "rsa_padding_mode:pss", flag, "rsa_pss_saltlen:digest") : List.of();
  }

  /** openssl's verdict on a signature of a RAW message. */
  private static io.kmsgw.testing.OpenSsl.Result opensslVerifiesRaw(String algorithm, String pem, String message, String sig) throws Exception {
    List<String> args = new ArrayList<>();
    if (algorithm.startsWith("ED25519")) {
      args.addAll(List.of("pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", message, "-sigfile", sig));
    } else {
      args.addAll(List.of("dgst", "-" + sha(algorithm), "-verify", pem, "-signature", sig));
      args.addAll(pssOptions(algorithm, "-sigopt"));
      args.add(message);
    }
    return openssl(args.toArray(String[]::new));
  }

  /** openssl's verdict on a signature over a digest it is given. */
  private static io.kmsgw.testing.OpenSsl.Result opensslVerifiesDigest(String algorithm, String pem, String digest, String sig)
      throws Exception {
    List<String> args = new ArrayList<>(List.of("pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", digest,
        "-sigfile", sig, "-pkeyopt", "digest:" + sha(algorithm)));
    args.addAll(pssOptions(algorithm, "-pkeyopt"));
    return openssl(args.toArray(String[]::new));
  }

  private static byte[] sign(String keyId, String messageFile, String type, String algorithm) throws Exception {
    return Base64.getDecoder().decode(cli.ok("sign", "--key-id", keyId, "--message", "fileb://" + messageFile,
        "--message-type", type, "--signing-algorithm", algorithm).getString("Signature"));
  }

  private static AwsCli.Result cliVerify(String keyId, String messageFile, String type, String sigFile,
      String algorithm) throws Exception {
    return cli.run("verify", "--key-id", keyId, "--message", "fileb://" + messageFile, "--message-type", type,
        "--signature", "fileb://" + sigFile, "--signing-algorithm", algorithm);
  }

  private static void assertCliError(AwsCli.Result r, String error) {
    assertNotEquals(0, r.exit(), r.out());
    assertTrue(r.err().contains(error), r.err());
  }

  @Test
  void awsCliSignsEveryAlgorithm_opensslVerifiesAgainstGetPublicKey_andAwsCliVerifies() throws Exception {
    byte[] message = "pay 100 to alice, order 4711".getBytes(StandardCharsets.UTF_8);
    Files.write(work.resolve("msg.bin"), message);
    byte[] changed = message.clone();
    changed[0] ^= 1;
    Files.write(work.resolve("changed.bin"), changed);
    List<String> verified = new ArrayList<>();
    for (String spec : SPECS) {
      String keyId = createKey(spec);
      String pem = publicKeyPem(keyId, spec).getFileName().toString();
      JsonArray algorithms = cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata")
          .getJsonArray("SigningAlgorithms");
      for (Object a : algorithms) {
        String algorithm = (String) a;
        String where = spec + " " + algorithm;
        // every algorithm listed signs (ED25519_PH_SHA_512, refused on every token, is not listed: PublicKeysIT)
        Files.write(work.resolve("sig.bin"), sign(keyId, "msg.bin", "RAW", algorithm));
        io.kmsgw.testing.OpenSsl.Result raw = opensslVerifiesRaw(algorithm, pem, "msg.bin", "sig.bin");
        assertEquals(0, raw.exit(), where + ": " + raw.err() + raw.text());
        assertEquals(1, opensslVerifiesRaw(algorithm, pem, "changed.bin", "sig.bin").exit(), where);
        assertEquals(true, new JsonObject(cliVerify(keyId, "msg.bin", "RAW", "sig.bin", algorithm).out())
            .getBoolean("SignatureValid"), where);
        assertCliError(cliVerify(keyId, "changed.bin", "RAW", "sig.bin", algorithm), "KMSInvalidSignatureException");
        if (!algorithm.startsWith("ED25519")) {
          Files.write(work.resolve("digest.bin"), MessageDigest.getInstance(sha(algorithm).replace("sha", "SHA-"))
              .digest(message));
          Files.write(work.resolve("dsig.bin"), sign(keyId, "digest.bin", "DIGEST", algorithm));
          io.kmsgw.testing.OpenSsl.Result digest = opensslVerifiesDigest(algorithm, pem, "digest.bin", "dsig.bin");
          assertEquals(0, digest.exit(), where + " DIGEST: " + digest.err() + digest.text());
          assertEquals(0, opensslVerifiesRaw(algorithm, pem, "msg.bin", "dsig.bin").exit(), where);
          assertTrue(new JsonObject(cliVerify(keyId, "digest.bin", "DIGEST", "sig.bin", algorithm).out())
              .getBoolean("SignatureValid"), where);
        }
        verified.add(where);
      }
    }
    assertTrue(verified.size() >= 10, verified.toString());
  }

  @Test
  void badInput_getsAwsErrorsByName() throws Exception {
    String keyId = createKey("ECC_NIST_P256");
    Files.write(work.resolve("big.bin"), new byte[4097]);
    Files.write(work.resolve("short.bin"), new byte[31]);
    Files.write(work.resolve("ok.bin"), new byte[32]);
    assertCliError(cli.run("sign", "--key-id", keyId, "--message", "fileb://big.bin", "--signing-algorithm",
        "ECDSA_SHA_256"), "ValidationException");
    assertCliError(cli.run("sign", "--key-id", keyId, "--message", "fileb://short.bin", "--message-type", "DIGEST",
        "--signing-algorithm", "ECDSA_SHA_256"), "ValidationException");
    assertCliError(cli.run("sign", "--key-id", keyId, "--message", "fileb://ok.bin", "--signing-algorithm",
        "RSASSA_PSS_SHA_256"), "InvalidKeyUsageException");
    assertCliError(cli.run("sign", "--key-id", keyId, "--message", "fileb://ok.bin", "--signing-algorithm",
        "ECDSA_SHA_384"), "InvalidKeyUsageException");
    String symmetric = cli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
    assertCliError(cli.run("sign", "--key-id", symmetric, "--message", "fileb://ok.bin", "--signing-algorithm",
        "ECDSA_SHA_256"), "InvalidKeyUsageException");
    Files.write(work.resolve("garbage.bin"), new byte[] {0x30, 0x03, 0x02, 0x01, 0x01});
    assertCliError(cliVerify(keyId, "ok.bin", "RAW", "garbage.bin", "ECDSA_SHA_256"), "KMSInvalidSignatureException");
    // the CLI of Debian (2.9.19) predates DryRun: the SDK asks it
    KmsException dryRun = assertThrows(KmsException.class, () -> sdk.sign(r -> r.keyId(keyId).message(
        SdkBytes.fromByteArray(new byte[32])).messageType(MessageType.DIGEST)
        .signingAlgorithm(SigningAlgorithmSpec.ECDSA_SHA_256).dryRun(true)));
    assertEquals("DryRunOperationException", dryRun.awsErrorDetails().errorCode());
  }

  @Test
  void sdkSigns_jdkVerifiesAgainstGetPublicKey_andSdkVerifyRefusesAForgery() throws Exception {
    String keyId = sdk.createKey(r -> r.keySpec("ECC_NIST_P384").keyUsage("SIGN_VERIFY")).keyMetadata().keyId();
    byte[] message = "signed through the AWS SDK for Java v2".getBytes(StandardCharsets.UTF_8);
    byte[] sig = sdk.sign(r -> r.keyId(keyId).message(SdkBytes.fromByteArray(message))
        .messageType(MessageType.RAW).signingAlgorithm(SigningAlgorithmSpec.ECDSA_SHA_384)).signature().asByteArray();
    PublicKey pub = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(
        sdk.getPublicKey(r -> r.keyId(keyId)).publicKey().asByteArray()));
    Signature jdk = Signature.getInstance("SHA384withECDSA");
    jdk.initVerify(pub);
    jdk.update(message);
    assertTrue(jdk.verify(sig));
    assertTrue(sdk.verify(r -> r.keyId(keyId).message(SdkBytes.fromByteArray(message)).signature(
        SdkBytes.fromByteArray(sig)).signingAlgorithm(SigningAlgorithmSpec.ECDSA_SHA_384)).signatureValid());

    String rsa = sdk.createKey(r -> r.keySpec("RSA_3072").keyUsage("SIGN_VERIFY")).keyMetadata().keyId();
    byte[] rsaSig = sdk.sign(r -> r.keyId(rsa).message(SdkBytes.fromByteArray(message))
        .signingAlgorithm(SigningAlgorithmSpec.RSASSA_PKCS1_V1_5_SHA_512)).signature().asByteArray();
    Signature pkcs1 = Signature.getInstance("SHA512withRSA");
    pkcs1.initVerify(KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(
        sdk.getPublicKey(r -> r.keyId(rsa)).publicKey().asByteArray())));
    pkcs1.update(message);
    assertTrue(pkcs1.verify(rsaSig));

    byte[] forged = rsaSig.clone();
    forged[10] ^= 1;
    KmsException e = assertThrows(KmsException.class, () -> sdk.verify(r -> r.keyId(rsa).message(
        SdkBytes.fromByteArray(message)).signature(SdkBytes.fromByteArray(forged))
        .signingAlgorithm(SigningAlgorithmSpec.RSASSA_PKCS1_V1_5_SHA_512)));
    assertEquals("KMSInvalidSignatureException", e.awsErrorDetails().errorCode());
  }

  @Test
  void auditTrail_recordsAlgorithmAndMessageType_neverTheMessageOrSignature() throws Exception {
    String keyId = createKey("ECC_NIST_P256");
    byte[] canary = new byte[24];
    new java.security.SecureRandom().nextBytes(canary);
    Files.write(work.resolve("canary.bin"), canary);
    byte[] sig = sign(keyId, "canary.bin", "RAW", "ECDSA_SHA_256");
    Files.write(work.resolve("canary-sig.bin"), sig);
    assertEquals(0, cliVerify(keyId, "canary.bin", "RAW", "canary-sig.bin", "ECDSA_SHA_256").exit());
    List<String> forbidden = List.of(Base64.getEncoder().encodeToString(canary), HexFormat.of().formatHex(canary),
        Base64.getEncoder().encodeToString(sig));
    boolean sawSign = false;
    boolean sawVerify = false;
    // the audit record is written before the answer (docs/audit.md): no waiting
    try (var files = Files.list(gateway.dataDir().resolve("audit"))) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
        for (String line : AuditTrailIT.lines(f)) {
          JsonObject event = new JsonObject(line).getJsonObject("event");
          JsonObject params = event == null ? null : event.getJsonObject("requestParameters");
          if (params == null || !keyId.equals(params.getString("keyId"))) {
            continue;
          }
          assertEquals("ECDSA_SHA_256", params.getString("signingAlgorithm"), event.encode());
          assertEquals("RAW", params.getString("messageType"), event.encode());
          assertFalse(params.containsKey("message") || params.containsKey("signature"), event.encode());
          sawSign |= "Sign".equals(event.getString("eventName"));
          sawVerify |= "Verify".equals(event.getString("eventName"));
        }
      }
    }
    assertTrue(sawSign && sawVerify, "Sign and Verify events of the key");
    try (var files = Files.list(gateway.dataDir().resolve("audit"))) {
      for (Path f : files.toList()) {
        String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
        for (String s : forbidden) {
          assertFalse(text.contains(s), f + " holds the message or the signature");
        }
      }
    }
  }
}
