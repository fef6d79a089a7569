package io.kmsgw.api.kms;

import io.kmsgw.api.kms.model.RequestValidator;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.GrantToken;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The KMS JSON 1.1 API above HTTP: from {@code X-Amz-Target} and a body to a response, through the service
 * model's validation and one handler per operation. Knows nothing of HTTP or of PKCS#11.
 */
public final class KmsApi {
  private final ServiceModel model;
  private final RequestValidator validator;
  private final Map<String, OperationHandler> handlers;

  public KmsApi(ServiceModel model, List<OperationHandler> handlers) {
    this.model = model;
    this.validator = new RequestValidator(model);
    Map<String, OperationHandler> byName = new HashMap<>();
    for (OperationHandler h : handlers) {
      if (model.operation(h.name()).isEmpty()) {
        throw new IllegalArgumentException("handler for an operation the model does not have: " + h.name());
      }
      byName.put(h.name(), h);
    }
    this.handlers = Collections.unmodifiableMap(byName);
  }

  /**
   * The operation a target names.
   *
   * @throws KmsException UnknownOperationException for a target outside the model
   */
  public String operationName(String target) {
    String prefix = model.targetPrefix() + ".";
    if (target == null || !target.startsWith(prefix)
        || model.operation(target.substring(prefix.length())).isEmpty()) {
      throw new KmsException(ErrorCode.UNKNOWN_OPERATION, "The X-Amz-Target header does not name a KMS operation.");
    }
    return target.substring(prefix.length());
  }

  /** Operations this gateway implements. */
  public Set<String> implemented() {
    return handlers.keySet();
  }

  /** Runs one request; any failure, thrown or asynchronous, ends in the returned stage. */
  public CompletionStage<Map<String, Object>> invoke(OperationContext ctx, byte[] body) {
    try {
      OperationHandler handler = handlers.get(ctx.operation());
      if (handler == null) {
        throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION,
            ctx.operation() + " is not implemented by kmsgw yet; see docs/api-coverage.md.");
      }
      Map<String, Object> parsed = JsonBody.parseObject(body);
      ctx.request(parsed);
      String inputShape = model.operation(ctx.operation()).orElseThrow().input();
      // a refused request is audited with its failed values as markers, never verbatim
      Input input = new Input(inputShape == null ? Map.of() : validator.validate(inputShape, parsed, ctx::request));
      List<String> grantTokens = input.has("GrantTokens") ? input.strings("GrantTokens") : List.of();
      // grants take effect at once in kmsgw, so a token only has to be one CreateGrant issued
      GrantToken.checkAll(grantTokens);
      ctx.scope(requestAlias(input), grantTokens);
      return handler.handle(ctx, input);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The alias a request's KeyId names (alias name or alias ARN, as kms:RequestAlias wants it), or null. */
  static String requestAlias(Input input) {
    if (!input.has("KeyId")) {
      return null;
    }
    String keyId = input.string("KeyId");
    if (keyId.startsWith("alias/")) {
      return keyId;
    }
    int at = keyId.startsWith("arn:") ? keyId.indexOf(":alias/") : -1;
    return at < 0 ? null : keyId.substring(at + 1);
  }

  /** A context for a request; the operation name must come from {@link #operationName}. */
  public static OperationContext context(String requestId, String operation, Caller caller) {
    return new OperationContext(requestId, operation, caller);
  }
}
