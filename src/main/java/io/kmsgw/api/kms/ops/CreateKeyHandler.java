package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.KeyService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** CreateKey: a CMK generated in the HSM, of a spec and usage {@link io.kmsgw.domain.KeySpecTable} pairs. */
public final class CreateKeyHandler implements OperationHandler {
  private final KeyService keys;
  private final KeyMetadataView view;

  public CreateKeyHandler(KeyService keys, KeyMetadataView view) {
    this.keys = keys;
    this.view = view;
  }

  @Override
  public String name() {
    return "CreateKey";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    if (in.has("XksKeyId")) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "External key store keys are not supported yet.");
    }
    String keySpec = in.string("KeySpec");
    String cmkSpec = in.string("CustomerMasterKeySpec");
    if (keySpec != null && cmkSpec != null) {
      throw KmsException.validation("You cannot specify both KeySpec and CustomerMasterKeySpec.");
    }
    KeySpec spec = named(KeySpec.class, "KeySpec", keySpec != null ? keySpec : cmkSpec, KeySpec.SYMMETRIC_DEFAULT);
    KeyUsage usage = named(KeyUsage.class, "KeyUsage", in.string("KeyUsage"), KeyUsage.ENCRYPT_DECRYPT);
    Origin origin = named(Origin.class, "Origin", in.string("Origin"), Origin.AWS_KMS);
    List<Tag> tags = new ArrayList<>();
    for (Map<String, Object> t : in.structures("Tags")) {
      tags.add(new Tag((String) t.get("TagKey"), (String) t.get("TagValue")));
    }
    KeyService.NewKey request = new KeyService.NewKey(in.string("Description"), spec, usage, origin, tags,
        in.string("CustomKeyStoreId"), in.flag("MultiRegion"), in.string("Policy"),
        in.flag("BypassPolicyLockoutSafetyCheck"));
    return keys.createKey(ctx.caller(), request).thenApply(key -> {
      ctx.keyArn(key.arn());
      return Map.of("KeyMetadata", view.of(key));
    });
  }

  /**
   * The enum constant a request names, or the default when it names none. The model's enum check ran before, so
   * an unknown name here means the model and the domain disagree: refused all the same, never guessed.
   */
  private static <E extends Enum<E>> E named(Class<E> type, String member, String value, E absent) {
    if (value == null) {
      return absent;
    }
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(value)) {
        return e;
      }
    }
    throw KmsException.validation("Value '" + value + "' at '" + member + "' is not a " + member + " kmsgw knows.");
  }
}
