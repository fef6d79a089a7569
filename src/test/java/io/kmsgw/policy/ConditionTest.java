package io.kmsgw.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Condition operators and set qualifiers, each against a request that has the key, has it with other values, and
 * lacks it; the expectations follow IAM's documentation of condition operators and multivalued keys.
 */
class ConditionTest {
  /** A one-statement key policy allowing everyone under one condition, evaluated for the request's keys. */
  static boolean allowed(String condition, Map<String, List<String>> keys) {
    String policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
        + "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":" + condition + "}]}";
    RequestContext.Builder b = RequestContext.builder(Principal.of("arn:aws:iam::111122223333:user/u"), "kms:Decrypt",
        "arn:aws:kms:us-east-1:111122223333:key/k");
    keys.forEach(b::putAll);
    return PolicyEvaluator.evaluate(b.build(), "111122223333", PolicyParser.parse(policy, PolicyParser.Kind.KEY),
        List.of(), false).allowed();
  }

  static Map<String, List<String>> request(String key, String values) {
    if (values.equals("<absent>")) {
      return Map.of();
    }
    return Map.of(key, values.equals("<empty>") ? List.of() : List.of(values.split(";")));
  }

  @ParameterizedTest(name = "{0} {1} on [{3}] -> {4}")
  @CsvSource(delimiter = '|', value = {
      "StringEquals | kms:EncryptionContext:purpose | billing | billing | true",
      "StringEquals | kms:EncryptionContext:purpose | billing | payroll | false",
      "StringEquals | kms:EncryptionContext:purpose | billing | <absent> | false",
      "StringNotEquals | kms:EncryptionContext:purpose | billing | payroll | true",
      "StringNotEquals | kms:EncryptionContext:purpose | billing | <absent> | true",
      "StringEqualsIgnoreCase | kms:ViaService | EC2.us-east-1.amazonaws.com | ec2.us-east-1.amazonaws.com | true",
      "StringLike | kms:ViaService | ec2.*.amazonaws.com | ec2.eu-west-1.amazonaws.com | true",
      "StringLike | kms:ViaService | ec2.?.amazonaws.com | ec2.eu-west-1.amazonaws.com | false",
      "StringNotLike | kms:ViaService | s3.* | ec2.eu-west-1.amazonaws.com | true",
      "StringEqualsIfExists | kms:ViaService | s3.us-east-1.amazonaws.com | <absent> | true",
      "StringEqualsIfExists | kms:ViaService | s3.us-east-1.amazonaws.com | ec2.us-east-1.amazonaws.com | false",
      "ForAnyValue:StringEquals | kms:EncryptionContextKeys | Department | Project;Department | true",
      "ForAnyValue:StringEquals | kms:EncryptionContextKeys | Department | Project | false",
      "ForAnyValue:StringEquals | kms:EncryptionContextKeys | Department | <absent> | false",
      "ForAllValues:StringEquals | kms:EncryptionContextKeys | Department | Department | true",
      "ForAllValues:StringEquals | kms:EncryptionContextKeys | Department | Department;Project | false",
      "ForAllValues:StringEquals | kms:EncryptionContextKeys | Department | <absent> | true",
      "ForAllValues:StringEquals | kms:EncryptionContextKeys | Department | <empty> | true",
      "Null | kms:EncryptionContextKeys | false | Department | true",
      "Null | kms:EncryptionContextKeys | false | <absent> | false",
      "Null | kms:EncryptionContextKeys | true | <absent> | true",
      "Bool | kms:GrantIsForAWSResource | true | true | true",
      "Bool | kms:GrantIsForAWSResource | true | false | false",
      "IpAddress | aws:SourceIp | 10.0.0.0/8 | 10.1.2.3 | true",
      "IpAddress | aws:SourceIp | 10.0.0.0/8 | 192.168.1.1 | false",
      "IpAddress | aws:SourceIp | 2001:db8::/32 | 2001:db8::1 | true",
      "NotIpAddress | aws:SourceIp | 10.0.0.0/8 | 192.168.1.1 | true",
      "DateLessThan | aws:CurrentTime | 2030-01-01T00:00:00Z | 2026-11-23T10:00:00Z | true",
      "DateGreaterThan | aws:CurrentTime | 2030-01-01T00:00:00Z | 2026-11-23T10:00:00Z | false",
      "DateLessThan | aws:CurrentTime | 2030-01-01 | 2029-12-31T23:59:59Z | true",
      "NumericLessThan | aws:EpochTime | 1900000000 | 1800000000 | true",
      "NumericGreaterThanEquals | aws:EpochTime | 1900000000 | 1800000000 | false",
      "ArnLike | aws:PrincipalArn | arn:aws:iam::111122223333:user/* | arn:aws:iam::111122223333:user/u | true",
      "ArnLike | aws:PrincipalArn | arn:aws:iam::*:user/u | arn:aws:iam::111122223333:user/u | true",
      "ArnNotEquals | aws:PrincipalArn | arn:aws:iam::111122223333:user/v | arn:aws:iam::111122223333:user/u | true",
  })
  void operator(String operator, String key, String policyValue, String requestValues, boolean expected) {
    String condition = "{\"" + operator + "\":{\"" + key + "\":\"" + policyValue + "\"}}";
    // aws:PrincipalArn comes from the principal; the others from the request
    Map<String, List<String>> keys = key.startsWith("aws:PrincipalArn") ? Map.of() : request(key, requestValues);
    assertEquals(expected, allowed(condition, keys), condition + " on " + requestValues);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "two values of one key are alternatives | {\"StringEquals\":{\"kms:EncryptionContext:purpose\":[\"a\",\"b\"]}} | b | true",
      "two keys must both hold | {\"StringEquals\":{\"kms:EncryptionContext:purpose\":\"b\",\"kms:ViaService\":\"x\"}} | b | false",
      "encryption context keys are case-sensitive | {\"StringEquals\":{\"kms:EncryptionContext:Purpose\":\"b\"}} | b | false",
      "negated with several values: none may match | {\"StringNotEquals\":{\"kms:EncryptionContext:purpose\":[\"a\",\"b\"]}} | b | false",
  })
  void combining(String name, String condition, String purpose, boolean expected) {
    assertEquals(expected, allowed(condition, Map.of("kms:encryptioncontext:purpose", List.of(purpose))), name);
  }

  @org.junit.jupiter.api.Test
  void ipLiterals_thatInetAddressWouldLookUp_areRefusedWithoutALookup() {
    // InetAddress resolves a string that does not start with a hex digit or a colon: these must never reach it
    for (String hostile : List.of(".:1", "..:3", ".:", "...:ff")) {
      org.junit.jupiter.api.Assertions.assertNull(Condition.Cidr.literal(hostile), hostile);
    }
    org.junit.jupiter.api.Assertions.assertEquals(16, Condition.Cidr.literal("::1").length);
    org.junit.jupiter.api.Assertions.assertEquals(16, Condition.Cidr.literal("fe80::1").length);
    org.junit.jupiter.api.Assertions.assertNull(Condition.Cidr.literal("fe80::zz"));
    org.junit.jupiter.api.Assertions.assertEquals(4, Condition.Cidr.literal("10.0.0.1").length);
  }
}
