package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
import io.kmsgw.kms.HsmLabels;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.kms.KeyPolicies;
import io.kmsgw.kms.KeyService;
import io.kmsgw.policy.KeyStateRules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * The key lifecycle operations: EnableKey, DisableKey, UpdateKeyDescription, ScheduleKeyDeletion,
 * CancelKeyDeletion, EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
 * ListKeyRotations, TagResource, UntagResource, ListResourceTags. Each takes a key id or key ARN only, as AWS does.
 */
public final class LifecycleOperations {
  private final KeyLifecycle lifecycle;
  private final KeyService keys;
  private final KeyIdResolver resolver;

  public LifecycleOperations(KeyLifecycle lifecycle, KeyService keys, KeyIdResolver resolver) {
    this.lifecycle = lifecycle;
    this.keys = keys;
    this.resolver = resolver;
  }

  public List<OperationHandler> handlers() {
    return List.of(
        new SimpleHandler("EnableKey", (ctx, in) -> lifecycle.enableKey(ctx.caller(), key(ctx, in))
            .thenApply(k -> Map.of())),
        new SimpleHandler("DisableKey", (ctx, in) -> lifecycle.disableKey(ctx.caller(), key(ctx, in))
            .thenApply(k -> Map.of())),
        new SimpleHandler("UpdateKeyDescription", (ctx, in) -> lifecycle.updateDescription(ctx.caller(),
            key(ctx, in), in.string("Description")).thenApply(k -> Map.of())),
        new SimpleHandler("ScheduleKeyDeletion", (ctx, in) -> lifecycle.scheduleDeletion(ctx.caller(), key(ctx, in),
            in.integer("PendingWindowInDays")).thenApply(k -> {
              Map<String, Object> out = new LinkedHashMap<>();
              out.put("KeyId", k.arn());
              out.put("DeletionDate", k.deletionDate());
              out.put("KeyState", k.state().apiName());
              out.put("PendingWindowInDays", k.pendingWindowDays());
              return out;
            })),
        new SimpleHandler("CancelKeyDeletion", (ctx, in) -> lifecycle.cancelDeletion(ctx.caller(), key(ctx, in))
            .thenApply(k -> Map.of("KeyId", k.arn()))),
        new SimpleHandler("EnableKeyRotation", (ctx, in) -> lifecycle.enableRotation(ctx.caller(), key(ctx, in),
            in.integer("RotationPeriodInDays")).thenApply(k -> Map.of())),
        new SimpleHandler("DisableKeyRotation", (ctx, in) -> lifecycle.disableRotation(ctx.caller(), key(ctx, in))
            .thenApply(k -> Map.of())),
        new SimpleHandler("GetKeyRotationStatus", this::rotationStatus),
        new SimpleHandler("RotateKeyOnDemand", (ctx, in) -> lifecycle.rotateOnDemand(ctx.caller(), key(ctx, in))
            .thenApply(k -> Map.of("KeyId", k.keyId().toString()))),
        new SimpleHandler("ListKeyRotations", this::listRotations),
        new SimpleHandler("TagResource", (ctx, in) -> lifecycle.tag(ctx.caller(), key(ctx, in), tags(in))
            .thenApply(k -> Map.of())),
        new SimpleHandler("UntagResource", (ctx, in) -> lifecycle.untag(ctx.caller(), key(ctx, in),
            in.strings("TagKeys")).thenApply(k -> Map.of())),
        new SimpleHandler("ListResourceTags", this::listTags),
        new SimpleHandler("GetKeyPolicy", (ctx, in) -> lifecycle.getKeyPolicy(ctx.caller(), key(ctx, in),
            in.string("PolicyName")).thenApply(doc -> Map.of("Policy", doc, "PolicyName", KeyPolicies.DEFAULT_NAME))),
        new SimpleHandler("PutKeyPolicy", (ctx, in) -> lifecycle.putKeyPolicy(ctx.caller(), key(ctx, in),
            in.string("PolicyName"), in.string("Policy"), in.flag("BypassPolicyLockoutSafetyCheck"))
            .thenApply(k -> Map.of())),
        new SimpleHandler("ListKeyPolicies", this::listPolicies));
  }

  private UUID key(OperationContext ctx, Input in) {
    UUID id = resolver.keyOnly(in.string("KeyId"));
    ctx.keyArn(resolver.arn(id));
    return id;
  }

  /** A read of a key in any state (READ in the state table). */
  private CompletionStage<KeyRecord> read(OperationContext ctx, Input in) {
    return keys.lookup(ctx.caller(), ctx.operation(), key(ctx, in), null).thenApply(k -> {
      KeyStateRules.require(KeyStateRules.Op.READ, k, keys.keyStoreConnected(k));
      return k;
    });
  }

  /** ListKeyPolicies: a key has one policy, named default. */
  private CompletionStage<Map<String, Object>> listPolicies(OperationContext ctx, Input in) {
    return read(ctx, in).thenApply(k -> Paging.page("PolicyNames", List.of(KeyPolicies.DEFAULT_NAME),
        in.string("Marker"), in.integer("Limit"), 100, "p1:"));
  }

  private static List<Tag> tags(Input in) {
    List<Tag> tags = new ArrayList<>();
    for (Map<String, Object> t : in.structures("Tags")) {
      tags.add(new Tag((String) t.get("TagKey"), (String) t.get("TagValue")));
    }
    return tags;
  }

  private CompletionStage<Map<String, Object>> rotationStatus(OperationContext ctx, Input in) {
    return read(ctx, in).thenApply(k -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("KeyRotationEnabled", k.rotation().enabled());
      out.put("KeyId", k.arn());
      if (k.rotation().enabled()) {
        out.put("RotationPeriodInDays", k.rotation().periodDays());
        out.put("NextRotationDate", k.rotation().nextRotation());
      }
      return out;
    });
  }

  /** ListKeyRotations: rotations only (every version after the first) unless ALL_KEY_MATERIAL. */
  private CompletionStage<Map<String, Object>> listRotations(OperationContext ctx, Input in) {
    boolean all = "ALL_KEY_MATERIAL".equals(in.string("IncludeKeyMaterial"));
    return read(ctx, in).thenApply(k -> {
      List<Map<String, Object>> entries = new ArrayList<>();
      for (KeyVersion v : k.versions()) {
        if (v.rotationType() == null && !all) {
          continue;
        }
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("KeyId", k.keyId().toString());
        e.put("KeyMaterialId", HsmLabels.keyMaterialId(k.keyId(), v.version()));
        e.put("KeyMaterialState", v.version() == k.currentVersion() ? "CURRENT" : "NON_CURRENT");
        if (v.rotationType() != null) {
          e.put("RotationDate", v.createdAt());
          e.put("RotationType", v.rotationType());
        }
        entries.add(e);
      }
      return Paging.page("Rotations", entries, in.string("Marker"), in.integer("Limit"), 100, "r1:");
    });
  }

  private CompletionStage<Map<String, Object>> listTags(OperationContext ctx, Input in) {
    return read(ctx, in).thenApply(k -> {
      List<Map<String, Object>> tags = new ArrayList<>();
      k.tags().forEach(t -> tags.add(Map.of("TagKey", t.key(), "TagValue", t.value())));
      return Paging.page("Tags", tags, in.string("Marker"), in.integer("Limit"), 50, "t1:");
    });
  }
}
