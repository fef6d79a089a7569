package io.kmsgw.api.http;

import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.Locale;

/**
 * HTTP the server cannot read, answered like every other error: an AWS-shaped body (KMS JSON, or IAM's XML for a
 * request that looks like a Query API call), the client's fault (400, 414, 431), one request log line and no stack
 * trace. Covers what Netty's decoder refuses before any route runs (a request line or headers too long, a line that
 * is not HTTP), an HTTP/1.x request without {@code Host}, and a body that fails to arrive (an invalid chunk size, a
 * form encoding the decoder refuses). The connection is closed after such an answer: its framing is lost.
 */
final class MalformedRequests {
  private MalformedRequests() {}

  /** For {@code HttpServer.invalidRequestHandler}: the request head did not decode. */
  static void invalidHead(HttpServerRequest request) {
    Throwable cause = request.decoderResult() == null ? null : request.decoderResult().cause();
    KmsException error;
    if (cause instanceof TooLongHttpLineException) {
      error = new KmsException(ErrorCode.REQUEST_URI_TOO_LONG, "The request line is longer than the "
          + GatewayHttpServer.MAX_INITIAL_LINE_BYTES + " bytes this server reads.");
    } else if (cause instanceof TooLongHttpHeaderException) {
      error = new KmsException(ErrorCode.REQUEST_HEADER_FIELDS_TOO_LARGE, "The request headers are larger than the "
          + GatewayHttpServer.MAX_HEADER_BYTES + " bytes this server reads.");
    } else {
      error = new KmsException(ErrorCode.MALFORMED_HTTP_REQUEST, "The request is not valid HTTP/1.1.");
    }
    answer(request, newRecord(request), error);
  }

  /**
   * An HTTP/1.1 request without {@code Host}, which HTTP/1.1 requires (RFC 9112 §3.2); answered before the router,
   * which would fail it with an exception. HTTP/1.0 does not require one (load balancers' default health checks
   * send none): such a request goes on, and a KMS, IAM or STS call without it fails the signature check, which
   * requires a signed Host.
   */
  static boolean missingHost(HttpServerRequest request) {
    if (request.version() == HttpVersion.HTTP_1_1 && request.authority() == null) {
      answer(request, newRecord(request), new KmsException(ErrorCode.MALFORMED_HTTP_REQUEST,
          "The request has no Host header; HTTP/1.1 requires one."));
      return true;
    }
    return false;
  }

  /** A request whose body failed to arrive for a reason other than its size (the decoder's, not the server's). */
  static KmsException unreadableBody(Throwable cause) {
    String where = cause.getClass().getName();
    if (where.startsWith("io.netty.handler.codec.http.multipart.")) {
      // the form decoder: a bad %-escape, too many fields
      return new KmsException(ErrorCode.SERIALIZATION, "The request body is not valid form encoding.");
    }
    return new KmsException(ErrorCode.MALFORMED_HTTP_REQUEST,
        "The request body could not be read: its HTTP framing is malformed (an invalid chunk size?).");
  }

  /**
   * Which Query API a request is for, from its headers alone (no body): the credential scope's service, or a form
   * body with no {@code X-Amz-Target} (IAM until the body says otherwise). Null for KMS and everything else.
   */
  static QueryApi.Service queryService(HttpServerRequest request) {
    QueryApi.Service s = QueryApi.Service.bySigningName(SigV4Verifier.scopeService(request.getHeader("Authorization")));
    if (s != null) {
      return s;
    }
    String type = request.getHeader("Content-Type");
    if (request.getHeader("X-Amz-Target") == null && type != null
        && type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
      return QueryApi.Service.IAM;
    }
    return null;
  }

  private static RequestRecord newRecord(HttpServerRequest request) {
    io.vertx.core.net.SocketAddress remote = request.connection() == null ? null
        : request.connection().remoteAddress();
    RequestRecord rec = new RequestRecord(RequestIds.next(), remote == null ? "-" : remote.hostAddress());
    rec.operation = "malformed";
    return rec;
  }

  /** Writes the error in the request's API shape, logs the request line when it is sent, then closes. */
  private static void answer(HttpServerRequest request, RequestRecord rec, KmsException error) {
    HttpServerResponse response = request.response();
    response.putHeader("x-amzn-RequestId", rec.requestId);
    response.endHandler(v -> rec.log(response.getStatusCode()));
    response.closeHandler(v -> rec.closed());
    write(request, rec, error).onComplete(ar -> request.connection().close());
  }

  /**
   * Writes the error in the shape of the request's API (IAM's XML for what looks like a Query call, else KMS JSON),
   * with {@code Connection: close}, and names it in the request line.
   */
  static io.vertx.core.Future<Void> write(HttpServerRequest request, RequestRecord rec, KmsException error) {
    HttpServerResponse response = request.response();
    if (response.ended() || response.closed()) {
      return io.vertx.core.Future.succeededFuture();
    }
    response.putHeader("Connection", "close");
    QueryApi.Service service = queryService(request);
    if (service != null) {
      rec.error = QueryApi.error(service, error, rec.requestId).code();
      return ErrorResponses.writeQuery(response, service, error, rec.requestId);
    }
    rec.error = error.code().awsName();
    return ErrorResponses.write(response, error);
  }
}
