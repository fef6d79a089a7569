package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.CreateGrantResponse;
import software.amazon.awssdk.services.kms.model.GrantOperation;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.MalformedPolicyDocumentException;

/**
 * Issue #6 end to end, against the real gateway process with the unmodified AWS CLI v2 and the AWS SDK for Java v2:
 * the administrator creates {@code app-a} (may Encrypt and GenerateDataKey only), {@code app-b} (may Decrypt only)
 * and {@code key-admin} (may manage but not use the key) through the IAM API; each is refused exactly what it may not
 * do; a grant gives {@code app-b} Decrypt for one more encryption context and RevokeGrant takes it away; a role
 * assumed through STS works until its credentials expire; and a user of a second account uses the key only once
 * both the key policy and its own IAM policy allow it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AccessControlIT {
  static final String ACCOUNT = GatewayProcess.ACCOUNT;
  static final String OTHER = "444455556666";
  static final String OTHER_ROOT_KEY = "AKIAPARTNERROOT00001";
  static final String OTHER_ROOT_SECRET = "partner/root/secret/key/0000000000000000";

  private static GatewayProcess gateway;
  private static List<String> serveArgs;
  private static AwsCli admin;
  private static AwsCli appA;
  private static AwsCli appB;
  private static AwsCli keyAdmin;
  private static String keyArn;
  private static byte[] billingBlob;

  @BeforeAll
  static void start() throws Exception {
    Path config = Files.createTempFile(Path.of(System.getProperty("kmsgw.build.dir", "target")).toAbsolutePath(),
        "access-control", ".yaml");
    Files.writeString(config, String.join("\n",
        "hsm:",
        "  dev_token: true",
        "accounts:",
        "  \"" + OTHER + "\":",
        "    access_key_id: " + OTHER_ROOT_KEY,
        "    secret_access_key: " + OTHER_ROOT_SECRET,
        ""));
    serveArgs = List.of("--config", config.toString());
    // with --config, the launcher leaves SOFTHSM2_CONF to the caller: the development token's own
    gateway = GatewayProcess.start("access-control", AccessControlIT::softhsm, dataDir -> serveArgs);
    admin = AwsCli.beside(gateway);
    appA = user(admin, "app-a");
    appB = user(admin, "app-b");
    keyAdmin = user(admin, "key-admin");
  }

  static Map<String, String> softhsm(Path dataDir) {
    return Map.of("SOFTHSM2_CONF", dataDir.resolve("softhsm/softhsm2.conf").toString());
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  /** A new IAM user with an access key, made by {@code creator} through the IAM API; the CLI signing as it. */
  static AwsCli user(AwsCli creator, String name) throws Exception {
    creator.okAny("iam", "create-user", "--user-name", name);
    JsonObject key = creator.okAny("iam", "create-access-key", "--user-name", name).getJsonObject("AccessKey");
    return creator.as(key.getString("AccessKeyId"), key.getString("SecretAccessKey"), null);
  }

  static String policy() {
    return """
        {"Version":"2012-10-17","Statement":[
          {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%1$s:root"},
           "Action":"kms:*","Resource":"*"},
          {"Sid":"Key administrators","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%1$s:user/key-admin"},
           "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*",
                     "kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource",
                     "kms:ScheduleKeyDeletion","kms:CancelKeyDeletion"],
           "Resource":"*"},
          {"Sid":"Encrypt only","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%1$s:user/app-a"},
           "Action":["kms:Encrypt","kms:GenerateDataKey*"],"Resource":"*"},
          {"Sid":"Decrypt billing only","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%1$s:user/app-b"},
           "Action":"kms:Decrypt","Resource":"*",
           "Condition":{"StringEquals":{"kms:EncryptionContext:app":"billing"}}}
        ]}""".formatted(ACCOUNT);
  }

  static Path file(byte[] bytes) throws Exception {
    Path p = Files.createTempFile(admin.work(), "blob", ".bin");
    Files.write(p, bytes);
    return p;
  }

  static byte[] encrypt(AwsCli cli, String context) throws Exception {
    Path plain = file("pay the invoices".getBytes(StandardCharsets.UTF_8));
    return Base64.getDecoder().decode(cli.ok("encrypt", "--key-id", keyArn, "--plaintext",
        "fileb://" + plain.getFileName(), "--encryption-context", context).getString("CiphertextBlob"));
  }

  static AwsCli.Result decrypt(AwsCli cli, byte[] blob, String context) throws Exception {
    return cli.run("decrypt", "--ciphertext-blob", "fileb://" + file(blob).getFileName(), "--encryption-context",
        context);
  }

  static void assertDenied(AwsCli.Result r, String action) {
    assertNotEquals(0, r.exit(), "should have been refused: " + r.out());
    assertTrue(r.err().contains("AccessDeniedException"), r.err());
    assertTrue(r.err().contains("not authorized to perform: " + action), r.err());
  }

  static void assertPlaintext(AwsCli.Result r) {
    assertEquals(0, r.exit(), r.err());
    assertEquals("pay the invoices", new String(Base64.getDecoder().decode(new JsonObject(r.out())
        .getString("Plaintext")), StandardCharsets.UTF_8));
  }

  @Test
  @Order(1)
  void separatedDuties_eachUserIsRefusedExactlyWhatItMayNotDo() throws Exception {
    Path policyFile = file(policy().getBytes(StandardCharsets.UTF_8));
    keyArn = admin.ok("create-key", "--description", "billing", "--policy", "file://" + policyFile.getFileName())
        .getJsonObject("KeyMetadata").getString("Arn");
    assertEquals(new JsonObject(policy()), new JsonObject(admin.ok("get-key-policy", "--key-id", keyArn,
        "--policy-name", "default").getString("Policy")));
    assertEquals("default", admin.ok("list-key-policies", "--key-id", keyArn).getJsonArray("PolicyNames")
        .getString(0));

    // app-a: Encrypt and GenerateDataKey, nothing else
    billingBlob = encrypt(appA, "app=billing");
    appA.ok("generate-data-key", "--key-id", keyArn, "--key-spec", "AES_256", "--encryption-context", "app=billing");
    assertDenied(decrypt(appA, billingBlob, "app=billing"), "kms:Decrypt");
    assertDenied(appA.run("disable-key", "--key-id", keyArn), "kms:DisableKey");
    assertDenied(appA.run("get-key-policy", "--key-id", keyArn, "--policy-name", "default"), "kms:GetKeyPolicy");

    // app-b: Decrypt under the billing context only
    assertPlaintext(decrypt(appB, billingBlob, "app=billing"));
    byte[] payroll = encrypt(appA, "app=payroll");
    assertDenied(decrypt(appB, payroll, "app=payroll"), "kms:Decrypt");
    Path plain = file("x".getBytes(StandardCharsets.UTF_8));
    assertDenied(appB.run("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName()),
        "kms:Encrypt");
    assertDenied(appB.run("generate-data-key", "--key-id", keyArn, "--key-spec", "AES_256"), "kms:GenerateDataKey");

    // key-admin: manages, never uses
    keyAdmin.ok("describe-key", "--key-id", keyArn);
    keyAdmin.ok("disable-key", "--key-id", keyArn);
    keyAdmin.ok("enable-key", "--key-id", keyArn);
    keyAdmin.ok("update-key-description", "--key-id", keyArn, "--description", "billing (managed)");
    assertDenied(keyAdmin.run("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName()),
        "kms:Encrypt");
    assertDenied(decrypt(keyAdmin, billingBlob, "app=billing"), "kms:Decrypt");

    // the lockout safety check: key-admin may not put a policy that shuts itself out
    Path lockout = file("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow",
          "Principal":{"AWS":"arn:aws:iam::%s:user/app-a"},"Action":"kms:Encrypt","Resource":"*"}]}"""
        .formatted(ACCOUNT).getBytes(StandardCharsets.UTF_8));
    AwsCli.Result refused = keyAdmin.run("put-key-policy", "--key-id", keyArn, "--policy-name", "default",
        "--policy", "file://" + lockout.getFileName());
    assertTrue(refused.err().contains("MalformedPolicyDocumentException"), refused.err());
    try (KmsClient kms = gateway.client()) {
      assertThrows(MalformedPolicyDocumentException.class, () -> kms.putKeyPolicy(r -> r.keyId(keyArn)
          .policyName("default").policy("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
              + "\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
              + "{\"kms:NoSuchKey\":\"x\"}}}]}")));
    }
    assertEquals(new JsonObject(policy()), new JsonObject(admin.ok("get-key-policy", "--key-id", keyArn,
        "--policy-name", "default").getString("Policy")));
  }

  @Test
  @Order(2)
  void grant_givesAppBDecryptForOneContext_untilRevoked() throws Exception {
    byte[] payroll = encrypt(appA, "app=payroll");
    byte[] hr = encrypt(appA, "app=hr");
    assertDenied(decrypt(appB, payroll, "app=payroll"), "kms:Decrypt");
    JsonObject grant = admin.ok("create-grant", "--key-id", keyArn, "--grantee-principal",
        "arn:aws:iam::" + ACCOUNT + ":user/app-b", "--operations", "Decrypt", "--constraints",
        "EncryptionContextEquals={app=payroll}", "--name", "payroll-batch");
    String grantId = grant.getString("GrantId");
    assertPlaintext(decrypt(appB, payroll, "app=payroll"));
    assertDenied(decrypt(appB, hr, "app=hr"), "kms:Decrypt");
    // the grant token is accepted by the SDK's Decrypt too
    try (KmsClient kms = gateway.client()) {
      JsonObject listed = admin.ok("list-grants", "--key-id", keyArn);
      assertEquals(grantId, listed.getJsonArray("Grants").getJsonObject(0).getString("GrantId"));
      CreateGrantResponse second = kms.createGrant(r -> r.keyId(keyArn).granteePrincipal("arn:aws:iam::" + ACCOUNT
          + ":user/app-b").operations(GrantOperation.DECRYPT).name("payroll-batch")
          .constraints(c -> c.encryptionContextEquals(Map.of("app", "payroll"))));
      assertEquals(grantId, second.grantId(), "CreateGrant with the same name and properties is idempotent");
      assertPlaintext(appB.run("decrypt", "--ciphertext-blob", "fileb://" + file(payroll).getFileName(),
          "--encryption-context", "app=payroll", "--grant-tokens", second.grantToken()));
    }
    admin.ok("revoke-grant", "--key-id", keyArn, "--grant-id", grantId);
    assertDenied(decrypt(appB, payroll, "app=payroll"), "kms:Decrypt");
    assertEquals(0, admin.ok("list-grants", "--key-id", keyArn).getJsonArray("Grants").size());
  }

  @Test
  @Order(3)
  void secondAccount_needsTheKeyPolicyAndItsOwnIamPolicy() throws Exception {
    AwsCli otherRoot = admin.as(OTHER_ROOT_KEY, OTHER_ROOT_SECRET, null);
    assertEquals(OTHER, otherRoot.okAny("sts", "get-caller-identity").getString("Account"));
    AwsCli partner = user(otherRoot, "partner");
    String partnerArn = "arn:aws:iam::" + OTHER + ":user/partner";
    assertEquals(partnerArn, partner.okAny("sts", "get-caller-identity").getString("Arn"));

    // neither side allows yet
    AwsCli.Result r = decrypt(partner, billingBlob, "app=billing");
    assertDenied(r, "kms:Decrypt");
    assertTrue(r.err().contains("no resource-based policy"), r.err());

    // the partner's IAM allows the key, the key policy does not name account B: still refused
    Path iamPolicy = file("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey"],
          "Resource":"%s"}]}""".formatted(keyArn).getBytes(StandardCharsets.UTF_8));
    otherRoot.okAny("iam", "put-user-policy", "--user-name", "partner", "--policy-name", "use-billing-key",
        "--policy-document", "file://" + iamPolicy.getFileName());
    assertDenied(decrypt(partner, billingBlob, "app=billing"), "kms:Decrypt");

    // the key policy names account B, and B's IAM allows: the partner decrypts (by the key's full ARN)
    JsonObject withPartner = new JsonObject(policy());
    withPartner.getJsonArray("Statement").add(new JsonObject().put("Sid", "Account B decrypts billing")
        .put("Effect", "Allow").put("Principal", new JsonObject().put("AWS", "arn:aws:iam::" + OTHER + ":root"))
        .put("Action", "kms:Decrypt").put("Resource", "*"));
    Path keyPolicy = file(withPartner.encode().getBytes(StandardCharsets.UTF_8));
    admin.ok("put-key-policy", "--key-id", keyArn, "--policy-name", "default", "--policy",
        "file://" + keyPolicy.getFileName());
    assertPlaintext(decrypt(partner, billingBlob, "app=billing"));
    assertPlaintext(partner.run("decrypt", "--key-id", keyArn, "--ciphertext-blob",
        "fileb://" + file(billingBlob).getFileName(), "--encryption-context", "app=billing"));

    // B's root needs no IAM policy of its own, but only what the key policy names: Decrypt, not Encrypt
    assertPlaintext(decrypt(otherRoot, billingBlob, "app=billing"));
    Path plain = file("x".getBytes(StandardCharsets.UTF_8));
    assertDenied(otherRoot.run("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName()),
        "kms:Encrypt");

    // taking the IAM policy away refuses the partner again
    otherRoot.okAny("iam", "delete-user-policy", "--user-name", "partner", "--policy-name", "use-billing-key");
    r = decrypt(partner, billingBlob, "app=billing");
    assertDenied(r, "kms:Decrypt");
    assertTrue(r.err().contains("no identity-based policy"), r.err());
  }

  @Test
  @Order(4)
  void roleAssumedThroughSts_worksUntilItsCredentialsExpire() throws Exception {
    String trust = """
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},
          "Action":"sts:AssumeRole"}]}""".formatted(ACCOUNT);
    admin.okAny("iam", "create-role", "--role-name", "billing-batch", "--assume-role-policy-document", trust);
    admin.okAny("iam", "put-role-policy", "--role-name", "billing-batch", "--policy-name", "encrypt",
        "--policy-document", """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"%s"}]}"""
            .formatted(keyArn));
    AwsCli batch = user(admin, "batch-runner");
    admin.okAny("iam", "put-user-policy", "--user-name", "batch-runner", "--policy-name", "assume", "--policy-document",
        """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
              "Resource":"arn:aws:iam::%s:role/billing-batch"}]}""".formatted(ACCOUNT));
    Path plain = file("x".getBytes(StandardCharsets.UTF_8));
    // the user itself has no KMS permission
    assertDenied(batch.run("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName()),
        "kms:Encrypt");
    JsonObject creds = batch.okAny("sts", "assume-role", "--role-arn", "arn:aws:iam::" + ACCOUNT
        + ":role/billing-batch", "--role-session-name", "nightly", "--duration-seconds", "900")
        .getJsonObject("Credentials");
    AwsCli session = batch.as(creds.getString("AccessKeyId"), creds.getString("SecretAccessKey"),
        creds.getString("SessionToken"));
    assertEquals("arn:aws:sts::" + ACCOUNT + ":assumed-role/billing-batch/nightly",
        session.okAny("sts", "get-caller-identity").getString("Arn"));
    session.ok("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName());
    AwsCli.Result denied = decrypt(session, billingBlob, "app=billing");
    assertDenied(denied, "kms:Decrypt");
    assertTrue(denied.err().contains("assumed-role/billing-batch/nightly"), denied.err());

    // a day later (the development clock moved, the signature clock real) the session has expired
    gateway.stop();
    Map<String, String> env = new java.util.HashMap<>(softhsm(gateway.dataDir()));
    env.put("KMSGW_DEV_CLOCK_OFFSET_DAYS", "1");
    gateway = GatewayProcess.restartWith(gateway, env, serveArgs);
    AwsCli.Result expired = session.against(gateway).run("encrypt", "--key-id", keyArn, "--plaintext",
        "fileb://" + plain.getFileName());
    assertNotEquals(0, expired.exit());
    assertTrue(expired.err().contains("ExpiredTokenException"), expired.err());
    // the long-term users are unaffected
    appA.against(gateway).ok("encrypt", "--key-id", keyArn, "--plaintext", "fileb://" + plain.getFileName());
    // and the SDK sees the same refusal as the CLI for what a user may not do
    try (KmsClient kms = gateway.client(appB.accessKeyId(), appB.secretAccessKey())) {
      KmsException e = assertThrows(KmsException.class, () -> kms.encrypt(r -> r.keyId(keyArn)
          .plaintext(SdkBytes.fromUtf8String("x"))));
      assertEquals("AccessDeniedException", e.awsErrorDetails().errorCode());
      assertTrue(e.awsErrorDetails().errorMessage().startsWith("User: arn:aws:iam::" + ACCOUNT + ":user/app-b is not authorized to "
          + "perform: kms:Encrypt on resource: " + keyArn), e.awsErrorDetails().errorMessage());
    }
  }
}
