package io.kmsgw.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The grammar: what is accepted, and what is refused with a message that says where. */
class PolicyParserTest {
  static String statement(String body) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{" + body + "}]}";
  }

  static PolicyException refused(String policy, PolicyParser.Kind kind) {
    return assertThrows(PolicyException.class, () -> PolicyParser.parse(policy, kind));
  }

  @Test
  void theDefaultKeyPolicyParses() {
    PolicyDocument d = PolicyParser.parse(PolicyEvaluatorTest.DEFAULT, PolicyParser.Kind.KEY);
    assertEquals("2012-10-17", d.version());
    assertEquals(1, d.statements().size());
    assertTrue(d.statements().get(0).principal().aws().contains("arn:aws:iam::111122223333:root"));
    assertEquals(PolicyEvaluatorTest.DEFAULT, d.source(), "kept as submitted, for GetKeyPolicy");
  }

  @Test
  void anAccountIdIsItsRoot_andAStatementObjectIsAList() {
    PolicyDocument d = PolicyParser.parse("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        + "\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}}", PolicyParser.Kind.KEY);
    assertEquals(java.util.Set.of("arn:aws:iam::111122223333:root"), d.statements().get(0).principal().aws());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "not JSON | {\"Statement\": | not acceptable JSON",
      "duplicate member | {\"Statement\":[],\"Statement\":[]} | appears twice",
      "unknown top element | {\"Statement\":[{}],\"Foo\":1} | unknown policy element 'Foo'",
      "bad version | {\"Version\":\"2020-01-01\",\"Statement\":[]} | Version",
      "empty statements | {\"Statement\":[]} | non-empty array",
      "no effect | {\"Statement\":[{\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | Statement[0].Effect",
      "no principal | {\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | Principal or NotPrincipal",
      "no resource | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}]} | Resource (or NotResource)",
      "action and notaction | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"NotAction\":\"kms:Encrypt\",\"Resource\":\"*\"}]} | Action or NotAction",
      "bad action | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"Encrypt\",\"Resource\":\"*\"}]} | Statement[0].Action[0]",
      "wildcard principal arn | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:user/*\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | wildcards",
      "federated | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"cognito-identity.amazonaws.com\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | 'Federated' are not supported",
      "notprincipal allow | {\"Statement\":[{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | only with Effect Deny",
      "unknown key | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:Nonsense\":\"x\"}}}]} | 'kms:Nonsense' is not supported",
      "unknown operator | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"StringSimilar\":{\"kms:ViaService\":\"x\"}}}]} | unknown or unsupported condition operator",
      "wrong type | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"kms:ViaService\":\"1\"}}}]} | does not apply",
      "bad date | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"soon\"}}}]} | not a date",
      "bad cidr | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"example.com\"}}}]} | not an IP address",
      "set qualifier on single key | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"ForAnyValue:StringEquals\":{\"kms:ViaService\":\"x\"}}}]} | single-valued",
      "policy variable | {\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"arn:aws:kms:*:*:key/${aws:username}\"}]} | policy variables",
      "duplicate sid | {\"Statement\":[{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Sid\":\"A\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]} | Statement[1].Sid",
  })
  void keyPolicies_refused(String name, String policy, String message) {
    PolicyException e = refused(policy, PolicyParser.Kind.KEY);
    assertTrue(e.getMessage().contains(message), name + ": " + e.getMessage());
  }

  @Test
  void identityPolicies_haveNoPrincipal_trustPoliciesNoResourceNeeded() {
    assertTrue(refused(statement("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\""),
        PolicyParser.Kind.IDENTITY).getMessage().contains("cannot name a Principal"));
    PolicyParser.parse(statement("\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},"
        + "\"Action\":\"sts:AssumeRole\""), PolicyParser.Kind.TRUST);
  }

  @Test
  void messagesNeverRepeatValues() {
    PolicyException e = refused(statement("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"secret-value\","
        + "\"Resource\":\"*\""), PolicyParser.Kind.KEY);
    assertFalse(e.getMessage().contains("secret-value"), e.getMessage());
  }
}
