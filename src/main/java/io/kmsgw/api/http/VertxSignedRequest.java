package io.kmsgw.api.http;

import io.kmsgw.auth.SignedRequest;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** A Vert.x request seen as the parts SigV4 covers. */
public final class VertxSignedRequest implements SignedRequest {
  private final HttpServerRequest request;
  private final byte[] body;

  public VertxSignedRequest(RoutingContext ctx, byte[] body) {
    this.request = ctx.request();
    this.body = body;
  }

  @Override
  public String method() {
    return request.method().name();
  }

  @Override
  public String rawPath() {
    return request.path();
  }

  @Override
  public String rawQuery() {
    return request.query();
  }

  @Override
  public List<String> headers(String name) {
    List<String> values = request.headers().getAll(name);
    if (values.isEmpty() && "host".equalsIgnoreCase(name) && request.authority() != null) {
      // HTTP/2 carries the host in :authority
      return List.of(request.authority().toString());
    }
    return values;
  }

  @Override
  public byte[] body() {
    return body;
  }
}
