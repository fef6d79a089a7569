package io.kmsgw.api.iam;

import static io.kmsgw.api.iam.QueryApi.params;

import io.kmsgw.api.iam.QueryApi.Action;
import io.kmsgw.iam.StsService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** The STS actions kmsgw implements. */
public final class StsActions {
  private StsActions() {}

  public static Map<String, Action> of(StsService sts) {
    Map<String, Action> a = new LinkedHashMap<>();
    a.put("AssumeRole", new Action(params("RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId"), (c, p) ->
        sts.assumeRole(c, new StsService.AssumeRole(p.get("RoleArn"), p.get("RoleSessionName"),
            p.integer("DurationSeconds"), p.get("ExternalId"))).thenApply(cr -> x -> x.open("Credentials")
                .leaf("AccessKeyId", cr.accessKeyId())
                .leaf("SecretAccessKey", cr.secretAccessKey())
                .leaf("SessionToken", cr.sessionToken())
                .leaf("Expiration", cr.expiration())
                .close("Credentials")
                .open("AssumedRoleUser")
                .leaf("AssumedRoleId", cr.assumedRoleId())
                .leaf("Arn", cr.assumedRoleArn())
                .close("AssumedRoleUser"))));
    a.put("GetCallerIdentity", new Action(params(), (c, p) -> {
      StsService.CallerIdentity id = sts.getCallerIdentity(c);
      return CompletableFuture.completedFuture(x -> x.leaf("UserId", id.userId()).leaf("Account", id.account())
          .leaf("Arn", id.arn()));
    }));
    return a;
  }
}
