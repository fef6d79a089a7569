package io.kmsgw.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class PrincipalTest {
  @Test
  void anAssumedRoleSession_namesItsRole() {
    Principal p = Principal.of("arn:aws:sts::111122223333:assumed-role/Admin/alice");
    assertEquals(Principal.Kind.ASSUMED_ROLE, p.kind());
    assertEquals("arn:aws:iam::111122223333:role/Admin", p.roleArn());
  }

  @Test
  void anAssumedRoleArnWithoutARoleName_isAPrincipalNoPolicyNames_notACrash() {
    for (String arn : new String[] {"arn:aws:sts::1:assumed-role/", "arn:aws:sts::1:assumed-role//s"}) {
      Principal p = Principal.of(arn);
      assertEquals(Principal.Kind.SERVICE, p.kind());
      assertNull(p.roleArn());
      assertFalse(p.namedBy("arn:aws:iam::1:role/"));
      assertEquals(arn, p.principalArn());
    }
  }
}
