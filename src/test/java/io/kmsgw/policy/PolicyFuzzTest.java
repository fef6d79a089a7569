package io.kmsgw.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.testing.Fuzzing;
import java.util.List;
import java.util.Map;

/**
 * The policy parser and evaluator. Must hold: a document is parsed or refused with PolicyException only, never
 * another exception; a parsed policy is evaluated for any request without an exception, and the same request gets
 * the same outcome twice (no state in the evaluator); an empty policy set never allows.
 */
class PolicyFuzzTest {
  private static final String ACCOUNT = "111122223333";
  private static final List<String> PRINCIPALS = List.of("arn:aws:iam::111122223333:root",
      "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:user/bob",
      "arn:aws:iam::111122223333:role/app");
  private static final List<String> ACTIONS = List.of("kms:Encrypt", "kms:Decrypt", "kms:CreateGrant",
      "kms:PutKeyPolicy", "iam:CreateUser", "sts:AssumeRole");

  /** Byte 0 picks the kind of policy, byte 1 the principal, byte 2 the action; the rest is the document. */
  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void parseAndEvaluate(byte[] data) {
    if (data.length < 3) {
      return;
    }
    PolicyParser.Kind kind = PolicyParser.Kind.values()[(data[0] & 0xff) % PolicyParser.Kind.values().length];
    Principal principal = Principal.of(PRINCIPALS.get((data[1] & 0xff) % PRINCIPALS.size()));
    String action = ACTIONS.get((data[2] & 0xff) % ACTIONS.size());
    String document = new String(data, 3, data.length - 3, java.nio.charset.StandardCharsets.UTF_8);
    String contextKey = "dept";
    String contextValue = document.length() > 8 ? document.substring(0, 8) : document;
    String sourceIp = "10.0.0." + (data[1] & 0xff);
    PolicyDocument policy;
    try {
      policy = PolicyParser.parse(document, kind);
    } catch (PolicyException e) {
      assertNotNull(e.getMessage());
      return;
    }
    RequestContext r = RequestContext.builder(principal, action,
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .put("aws:SourceIp", sourceIp)
        .encryptionContext(Map.of(contextKey, contextValue))
        .build();
    PolicyEvaluator.Outcome first;
    PolicyEvaluator.Outcome second;
    if (kind == PolicyParser.Kind.KEY) {
      first = PolicyEvaluator.evaluate(r, ACCOUNT, policy, List.of(), false);
      second = PolicyEvaluator.evaluate(r, ACCOUNT, policy, List.of(), false);
    } else {
      first = PolicyEvaluator.evaluateStandalone(r, List.of(policy));
      second = PolicyEvaluator.evaluateStandalone(r, List.of(policy));
    }
    assertEquals(first, second);
    assertEquals(false, PolicyEvaluator.evaluateStandalone(r, List.of()).allowed());
  }
}
