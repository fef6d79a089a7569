package io.kmsgw.bench;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Origin;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.KeyPolicies;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyParser;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The cost of one authorization decision, in process (it is pure: no I/O): what every KMS request pays before the
 * HSM is touched. Three cases: the account root under the default key policy (the benchmark's own requests), an IAM
 * user allowed by a key policy with an encryption-context condition, and an IAM user allowed through the default
 * policy by an IAM policy naming the key.
 */
final class AuthzBench {
  private AuthzBench() {}

  private static final String ACCOUNT = "111122223333";

  static JsonObject run(long millisPerCase) {
    KeyPolicies policies = new KeyPolicies();
    Map<String, List<PolicyDocument>> iam = new java.util.HashMap<>();
    Authorizer authz = new Authorizer(ACCOUNT, policies, caller -> iam.getOrDefault(caller.arn(), List.of()),
        Clock.systemUTC());
    KeyRecord defaultKey = key();
    KeyRecord separated = key();
    policies.put(separated.keyId(), KeyPolicies.parse("""
        {"Version":"2012-10-17","Statement":[
          {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
           "Action":"kms:*","Resource":"*"},
          {"Sid":"Administrators","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/key-admin"},
           "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*",
                     "kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:ScheduleKeyDeletion"],
           "Resource":"*"},
          {"Sid":"Encrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-a"},
           "Action":["kms:Encrypt","kms:GenerateDataKey*"],"Resource":"*"},
          {"Sid":"Decrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-b"},
           "Action":"kms:Decrypt","Resource":"*",
           "Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"t-0001"},
                        "IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"""));
    Caller root = new Caller("arn:aws:iam::" + ACCOUNT + ":root", ACCOUNT, ACCOUNT, "AKIAROOT", "Root",
        new Caller.Scope("127.0.0.1", null, List.of()));
    Caller appB = new Caller("arn:aws:iam::" + ACCOUNT + ":user/app-b", ACCOUNT, "AIDAAPPB", "AKIAAPPB", "IAMUser",
        new Caller.Scope("127.0.0.1", null, List.of()));
    Caller viaIam = new Caller("arn:aws:iam::" + ACCOUNT + ":user/app-c", ACCOUNT, "AIDAAPPC", "AKIAAPPC", "IAMUser",
        new Caller.Scope("127.0.0.1", null, List.of()));
    iam.put(viaIam.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],
          "Resource":"%s"}]}""".formatted(defaultKey.arn()), PolicyParser.Kind.IDENTITY)));
    Map<String, String> context = Map.of("purpose", "benchmark", "tenant", "t-0001");

    JsonObject out = new JsonObject();
    out.put("root_default_policy_ns", measure(millisPerCase, () -> authz.onKey(root, "Encrypt", defaultKey, context)));
    out.put("user_key_policy_condition_ns",
        measure(millisPerCase, () -> authz.onKey(appB, "Decrypt", separated, context)));
    out.put("user_iam_policy_ns", measure(millisPerCase, () -> authz.onKey(viaIam, "Decrypt", defaultKey, context)));
    return out;
  }

  /** Nanoseconds per call, on one thread, after a warm-up of the same length. */
  private static double measure(long millis, Runnable call) {
    loop(millis, call);
    long[] counted = loop(millis, call);
    return (double) counted[1] / counted[0];
  }

  private static long[] loop(long millis, Runnable call) {
    long start = System.nanoTime();
    long deadline = start + millis * 1_000_000L;
    long n = 0;
    long now;
    do {
      for (int i = 0; i < 1000; i++) {
        call.run();
      }
      n += 1000;
      now = System.nanoTime();
    } while (now < deadline);
    return new long[] {n, now - start};
  }

  private static KeyRecord key() {
    UUID id = UUID.randomUUID();
    Instant now = Instant.now();
    return new KeyRecord(id, ACCOUNT, "us-east-1", now, "", KeyState.ENABLED, KeyUsage.ENCRYPT_DECRYPT, KeySpec.SYMMETRIC_DEFAULT,
        Origin.AWS_KMS, KeyRecord.DEFAULT_KEY_STORE, 1, null, 0, KeyRotation.DISABLED,
        List.of(new KeyVersion(1, "l", new byte[] {1}, now, null)), List.of());
  }
}
