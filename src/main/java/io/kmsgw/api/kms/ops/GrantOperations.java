package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.Grant;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.GrantService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. Keys are named by key id or key ARN, as
 * AWS requires. AWS service principals (GranteeServicePrincipal, RetiringServicePrincipal, the SourceArn constraint)
 * have no meaning in front of an HSM and answer UnsupportedOperationException.
 */
public final class GrantOperations {
  static final int DEFAULT_LIMIT = 50;
  /** ListGrants and ListRetirableGrants: "it must be between 1 and 100, inclusive" (the model allows 1000). */
  static final int MAX_LIMIT = 100;

  private final GrantService grants;
  private final KeyIdResolver resolver;

  public GrantOperations(GrantService grants, KeyIdResolver resolver) {
    this.grants = grants;
    this.resolver = resolver;
  }

  public List<OperationHandler> handlers() {
    return List.of(
        new SimpleHandler("CreateGrant", this::create),
        new SimpleHandler("ListGrants", this::list),
        new SimpleHandler("ListRetirableGrants", this::listRetirable),
        new SimpleHandler("RetireGrant", this::retire),
        new SimpleHandler("RevokeGrant", (ctx, in) -> grants.revokeGrant(ctx.caller(), key(ctx, in),
            in.string("GrantId"), in.flag("DryRun")).thenApply(v -> Map.of())));
  }

  private UUID key(OperationContext ctx, Input in) {
    UUID id = resolver.keyOnly(in.string("KeyId"));
    ctx.keyArn(resolver.arn(id));
    return id;
  }

  private static void refuseServicePrincipal(Input in, String member) {
    if (in.has(member)) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, member + " (AWS service principals) is not "
          + "supported by kmsgw: name an IAM principal ARN.");
    }
  }

  private CompletionStage<Map<String, Object>> create(OperationContext ctx, Input in) {
    refuseServicePrincipal(in, "GranteeServicePrincipal");
    refuseServicePrincipal(in, "RetiringServicePrincipal");
    if (in.string("GranteePrincipal") == null) {
      throw KmsException.validation("GranteePrincipal is required.");
    }
    Grant.Constraints constraints = Grant.Constraints.NONE;
    Map<String, Object> c = in.structure("Constraints");
    if (c != null) {
      if (c.containsKey("SourceArn")) {
        throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The SourceArn grant constraint (requests made for "
            + "an AWS resource) is not supported by kmsgw.");
      }
      constraints = new Grant.Constraints(stringMap(c.get("EncryptionContextEquals")),
          stringMap(c.get("EncryptionContextSubset")));
    }
    UUID keyId = key(ctx, in);
    GrantService.NewGrant request = new GrantService.NewGrant(in.string("GranteePrincipal"),
        in.string("RetiringPrincipal"), in.strings("Operations"), constraints, in.string("Name"), in.flag("DryRun"));
    return grants.createGrant(ctx.caller(), keyId, request).thenApply(created -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("GrantToken", created.grantToken());
      out.put("GrantId", created.grant().grantId());
      return out;
    });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> stringMap(Object value) {
    return (Map<String, String>) value;
  }

  private CompletionStage<Map<String, Object>> list(OperationContext ctx, Input in) {
    refuseServicePrincipal(in, "GranteeServicePrincipal");
    int limit = limit(in);
    UUID keyId = key(ctx, in);
    return grants.listGrants(ctx.caller(), keyId, in.string("GrantId"), in.string("GranteePrincipal"))
        .thenApply(list -> page(list, in.string("Marker"), limit));
  }

  private CompletionStage<Map<String, Object>> listRetirable(OperationContext ctx, Input in) {
    refuseServicePrincipal(in, "RetiringServicePrincipal");
    if (in.string("RetiringPrincipal") == null) {
      throw KmsException.validation("RetiringPrincipal is required.");
    }
    int limit = limit(in);
    return grants.listRetirableGrants(ctx.caller(), in.string("RetiringPrincipal"))
        .thenApply(list -> page(list, in.string("Marker"), limit));
  }

  private CompletionStage<Map<String, Object>> retire(OperationContext ctx, Input in) {
    UUID keyId = in.string("KeyId") == null ? null : key(ctx, in);
    return grants.retireGrant(ctx.caller(), in.string("GrantToken"), keyId, in.string("GrantId"), in.flag("DryRun"))
        .thenApply(v -> Map.of());
  }

  private static int limit(Input in) {
    Integer limit = in.integer("Limit");
    if (limit != null && limit > MAX_LIMIT) {
      throw KmsException.validation("Limit must be between 1 and " + MAX_LIMIT + ".");
    }
    return limit == null ? DEFAULT_LIMIT : limit;
  }

  private Map<String, Object> page(List<Grant> list, String marker, int limit) {
    List<Map<String, Object>> entries = new ArrayList<>(list.size());
    for (Grant g : list) {
      entries.add(entry(g));
    }
    return Paging.page("Grants", entries, marker, limit, DEFAULT_LIMIT, "g1:");
  }

  /** A GrantListEntry. */
  private Map<String, Object> entry(Grant g) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("KeyId", resolver.arn(g.keyId()));
    e.put("GrantId", g.grantId());
    e.put("Name", g.name());
    e.put("CreationDate", g.createdAt());
    e.put("GranteePrincipal", g.granteePrincipal());
    e.put("RetiringPrincipal", g.retiringPrincipal());
    e.put("IssuingAccount", g.issuingAccount());
    e.put("Operations", g.operations());
    if (!g.constraints().isEmpty()) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("EncryptionContextSubset", g.constraints().encryptionContextSubset());
      c.put("EncryptionContextEquals", g.constraints().encryptionContextEquals());
      e.put("Constraints", c);
    }
    return e;
  }
}
