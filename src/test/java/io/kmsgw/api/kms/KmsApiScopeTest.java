package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.domain.Caller;
import io.kmsgw.format.GrantToken;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** What KmsApi adds to the caller's scope from the request body: kms:RequestAlias and GrantTokens. */
class KmsApiScopeTest {
  private static Caller.Scope scopeSeen(String body) {
    AtomicReference<Caller> seen = new AtomicReference<>();
    OperationHandler probe = new OperationHandler() {
      @Override
      public String name() {
        return "DescribeKey";
      }

      @Override
      public CompletableFuture<Map<String, Object>> handle(OperationContext ctx, Input input) {
        seen.set(ctx.caller());
        return CompletableFuture.completedFuture(Map.of());
      }
    };
    KmsApi api = new KmsApi(ServiceModel.kms(), List.of(probe));
    Caller caller = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333", "AKIA", "Root")
        .in(new Caller.Scope("10.0.0.1", null, null, true));
    api.invoke(KmsApi.context("r", "DescribeKey", caller), body.getBytes(StandardCharsets.UTF_8))
        .toCompletableFuture().join();
    return seen.get().scope();
  }

  @Test
  void aliasNameAndAliasArn_becomeTheRequestAlias_keyIdsDoNot() {
    assertEquals("alias/billing", scopeSeen("{\"KeyId\":\"alias/billing\"}").requestAlias());
    assertEquals("alias/billing",
        scopeSeen("{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:alias/billing\"}").requestAlias());
    assertNull(scopeSeen("{\"KeyId\":\"1234abcd-12ab-34cd-56ef-1234567890ab\"}").requestAlias());
    assertNull(scopeSeen("{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"}")
        .requestAlias());
  }

  @Test
  void grantTokensAndTheConnectionFacts_reachTheHandler() {
    String t1 = GrantToken.issue("a".repeat(64));
    String t2 = GrantToken.issue("b".repeat(64));
    Caller.Scope s = scopeSeen("{\"KeyId\":\"alias/x\",\"GrantTokens\":[\"" + t1 + "\",\"" + t2 + "\"]}");
    assertEquals(List.of(t1, t2), s.grantTokens());
    assertEquals("10.0.0.1", s.sourceIp());
    assertEquals(true, s.secureTransport());
  }
}
